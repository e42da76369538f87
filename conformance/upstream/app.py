"""The scripted upstream as an ASGI app: record every request, answer by its marker's script.

Owns ``UpstreamConfig`` and ``create_upstream_app``. A request without the channel key gets
401; a request carrying a marker of this run gets its script's answer; any other request is
answered like the reference would (its engines, no faults). Every request, refused or not,
is recorded first. Serves ``/v1/chat/completions``, ``/v1/responses``, ``/v1/embeddings``,
``/v1/moderations``, ``/v1/rerank``, the media operations of ``media`` (images, speech, and
transcriptions and translations as multipart) and ``GET /v1/models``; other paths get 404
(recorded too).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from conformance.reference.api_error import ApiError
from conformance.reference.engines import StreamResult
from conformance.reference.engines import chat as chat_engine
from conformance.reference.engines import embeddings as embeddings_engine
from conformance.reference.engines import moderation as moderation_engine
from conformance.reference.engines import rerank as rerank_engine
from conformance.reference.engines import responses as responses_engine
from conformance.reference.faultset import NO_FAULTS
from conformance.upstream.markers import find_marker
from conformance.upstream.media import FORM_OPERATIONS, MEDIA_PATHS, media_answer, read_form
from conformance.upstream.records import RecordStore, UpstreamForm, UpstreamRecord
from conformance.upstream.scripts import SCRIPTS, Script, render, render_stream
from conformance.upstream.streams import STREAM_SCRIPTS, Step, StreamTraces, plan

#: The model names the upstream serves (a gateway channel maps its own names onto these).
UPSTREAM_MODELS: dict[str, str] = {"chat": "up-chat", "responses": "up-chat", "embeddings": "up-embed",
                                   "moderation": "up-moderation", "rerank": "up-rerank", "images": "up-images",
                                   "speech": "up-speech", "transcription": "up-whisper", "translation": "up-whisper"}
_OPERATIONS = {"/v1/chat/completions": "chat", "/v1/responses": "responses", "/v1/embeddings": "embeddings",
               "/v1/moderations": "moderation", "/v1/rerank": "rerank"}
#: Operations whose scripted 200 answer is the reference engine's (scripts decide failures only).
_ENGINE_ANSWERED = frozenset({"moderation", "rerank"})


@dataclass(frozen=True)
class UpstreamConfig:
    """One scripted upstream: the channel key it expects, its run id and the slow delay.

    ``slow_delay`` is how long the ``slow`` script waits before its first byte (longer than
    the gateway's declared timeout). The key is left out of ``repr``.
    """

    key: str = field(repr=False)
    run: str
    slow_delay: float = 2.0


def create_upstream_app(config: UpstreamConfig, store: RecordStore) -> Starlette:
    """The scripted upstream; every request it receives lands in ``store``."""

    async def endpoint(request: Request) -> Response:
        arrived = time.monotonic()
        raw = await request.body()
        form = await read_form(request.headers, raw)
        marker = find_marker(raw, config.run)
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        script = (SCRIPTS.get(marker.script) or STREAM_SCRIPTS.get(marker.script)) if marker is not None else None
        status, response = _answer(config, request, raw, form, script, str(marker) if marker else "")
        if isinstance(response, _Planned):
            response = response.start(store.traces)
        answer = response.frames_bytes if isinstance(response, (_SSE, _Planned)) else (
            b"" if isinstance(response, StreamingResponse) else bytes(response.body))
        store.add(UpstreamRecord(request.method, request.url.path, headers, raw, arrived,
                                 str(marker) if marker else None, status, answer,
                                 response.media_type or "", form))
        if script is not None and script.delay:
            await asyncio.sleep(config.slow_delay)
        return response

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST", "PUT", "DELETE", "PATCH"])])


def _answer(config: UpstreamConfig, request: Request, raw: bytes, form: UpstreamForm | None,
            script: Script | None, marker: str) -> tuple[int, Response]:
    path = request.url.path
    if request.headers.get("authorization") != f"Bearer {config.key}":
        return 401, _error(ApiError(401, "The channel key of the scripted upstream is wrong or missing.",
                                    "authentication_error", code="invalid_api_key"))
    if request.method == "GET" and path == "/v1/models":
        data = [{"id": m, "object": "model", "created": 1_767_225_600, "owned_by": "nxc-upstream"}
                for m in sorted(set(UPSTREAM_MODELS.values()))]
        return 200, _json({"object": "list", "data": data}, 200)
    operation = _OPERATIONS.get(path) or MEDIA_PATHS.get(path)
    if operation is None or request.method != "POST":
        return 404, _error(ApiError(404, f"The scripted upstream has no {request.method} {path}.",
                                    code="unknown_url"))
    if operation in MEDIA_PATHS.values():
        return _media(operation, raw, form, script, marker)
    body = _json_object(raw)
    if isinstance(body, tuple):
        return body
    if script is not None and script.stream is not None and body.get("stream") and operation in ("chat", "responses"):
        return 200, _Planned(plan(script, operation, body, marker, config.slow_delay), marker)
    if script is not None and body.get("stream") and operation == "chat" and script.status < 400:
        frames = render_stream(script, body, marker)
        return 200, _SSE(frames)
    if script is not None and (script.status >= 400 or operation not in _ENGINE_ANSWERED):
        return _scripted(script, operation, body, marker)
    return _like_reference(operation, body)


def _json_object(raw: bytes) -> dict[str, Any] | tuple[int, Response]:
    """The request body as a JSON object, or the 400 answer to a body that is not one."""
    try:
        body = json.loads(raw)
    except ValueError:
        return 400, _error(ApiError(400, "The body is not JSON.", code="invalid_json"))
    if not isinstance(body, dict):
        return 400, _error(ApiError(400, "The body is not a JSON object.", code="invalid_json"))
    return body


def _scripted(script: Script, operation: str, params: dict[str, Any], marker: str) -> tuple[int, Response]:
    """The script's own answer (its status, with its Retry-After when it has one)."""
    headers = {"Retry-After": str(script.retry_after)} if script.retry_after is not None else {}
    return script.status, _json(render(script, operation, params, marker), script.status, headers)


def _media(operation: str, raw: bytes, form: UpstreamForm | None, script: Script | None,
           marker: str) -> tuple[int, Response]:
    """A media request: the form (multipart) or JSON body, answered by its script or ``media``."""
    if operation in FORM_OPERATIONS:
        if form is None or form.file is None:
            return 400, _error(ApiError(400, "A multipart body with a file part is required.", param="file",
                                        code="invalid_multipart"))
        params: dict[str, Any] = form.field_map()
    else:
        parsed = _json_object(raw)
        if isinstance(parsed, tuple):
            return parsed
        params = parsed
    if script is not None and script.status >= 400:
        return _scripted(script, operation, params, marker)
    status, body, kind = media_answer(operation, params, marker)
    return status, Response(body, status, media_type=kind)


def _like_reference(operation: str, body: dict[str, Any]) -> tuple[int, Response]:
    """The reference engines' answer (no faults): the upstream without a script."""
    engine = {"chat": chat_engine.complete, "responses": responses_engine.create,
              "embeddings": embeddings_engine.create, "moderation": moderation_engine.moderate,
              "rerank": rerank_engine.rerank}[operation]
    try:
        result = engine(body, NO_FAULTS)
    except ApiError as error:
        return error.status, _error(error)
    if isinstance(result, StreamResult):
        return 200, StreamingResponse(result.chunks, media_type=result.content_type)
    if not isinstance(result, dict):
        return 500, _error(ApiError(500, "The scripted upstream cannot answer this request.", "server_error"))
    return 200, _json(result, 200)


class _Planned(Response):
    """A stream script's steps, not yet started (``start`` binds them to the run's traces)."""

    def __init__(self, steps: list[Step], marker: str) -> None:
        super().__init__(b"")
        self.steps, self.marker = steps, marker
        self.frames_bytes = b"".join(s.frame for s in steps)

    def start(self, traces: StreamTraces) -> _SSE:
        """The streaming response that plays the steps and traces them under the marker."""
        trace = traces.start(self.marker)
        steps = self.steps

        async def play() -> AsyncIterator[bytes]:
            how = "closed"
            try:
                for step in steps:
                    if step.pause:
                        await asyncio.sleep(step.pause)
                    if step.drop:
                        how = "dropped"
                        raise ConnectionAbortedError("scripted connection drop")
                    traces.sent(trace)
                    yield step.frame
                how = "complete"
            finally:
                traces.end(trace, how)

        return _SSE([self.frames_bytes], body=play())


class _SSE(StreamingResponse):
    """A scripted event stream; keeps its bytes for the record."""

    def __init__(self, frames: list[bytes], body: AsyncIterator[bytes] | None = None) -> None:
        self.frames_bytes = b"".join(frames)
        super().__init__(iter(frames) if body is None else body, media_type="text/event-stream",
                         headers={"Cache-Control": "no-cache"})


def _json(payload: object, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(payload, separators=(",", ":")).encode(), status, headers=headers,
                    media_type="application/json")


def _error(error: ApiError) -> Response:
    return _json(error.envelope(), error.status)
