"""Relay mode of the reference gateway: JSON operations forwarded to an upstream provider.

Owns ``Relay`` (its OWN outbound HTTP client, never the suite's transport), the relay model
names and the relay faults. Relays chat (plain and streamed), Responses, embeddings,
moderations, rerank, images, speech, and transcriptions and translations (multipart, re-sent
with the same parts: ``relay_media``). A request naming a relay model is forwarded to the upstream with
the channel key and the model mapped (``RELAY_MODELS``); the upstream's answer reaches the
client unchanged but for the model name, and upstream errors are mapped as new-api's relay
does: 400 and 404 pass through with the upstream's message, a refused channel key becomes
502 (never 401: the client's key is fine), 429 passes through with its Retry-After, 5xx
becomes 502, and an upstream slower than ``timeout`` becomes 504 within that timeout.
Upstream connections are never kept alive: the suite restarts its upstream between runs.
Streamed answers are relayed event by event by ``relay_stream`` (its faults join ``FAULTS``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any, Final

import httpx
from starlette.responses import Response, StreamingResponse

from conformance.reference.api_error import ApiError
from conformance.reference.faultset import FaultSet
from conformance.reference.http_errors import HttpError, json_response
from conformance.reference.operations import Upload
from conformance.reference.relay_media import (
    FORM_RELAYED,
    MEDIA_FAULTS,
    MEDIA_RELAYED,
    binary_answer,
    outbound_form,
    outbound_media,
)
from conformance.reference.relay_stream import STREAM_FAULTS, relay_events

#: Client-side model name -> the upstream model it maps to (the declared model mapping).
RELAY_MODELS: Final[dict[str, str]] = {
    "relay-chat": "up-chat", "relay-embed": "up-embed", "relay-moderation": "up-moderation",
    "relay-rerank": "up-rerank", "relay-images": "up-images", "relay-speech": "up-speech",
    "relay-whisper": "up-whisper",
}
#: Capability -> relay model written to the target file as ``[models] relay_<capability>``.
RELAY_CAPABILITIES: Final[dict[str, str]] = {
    "chat": "relay-chat", "responses": "relay-chat", "embeddings": "relay-embed",
    "moderation": "relay-moderation", "rerank": "relay-rerank", "images": "relay-images",
    "speech": "relay-speech", "transcription": "relay-whisper", "translation": "relay-whisper",
}
#: Spec paths the relay forwards.
#: How much later than declared the ``relay.errors.timeout`` fault gives up, seconds.
_LATE: Final[float] = 0.8
RELAYED_PATHS: Final[frozenset[str]] = frozenset(
    {"/chat/completions", "/responses", "/embeddings", "/moderations", "/rerank"}) | MEDIA_RELAYED

#: The documented chat request parameters; any other top-level member is unknown to the relay
#: (only the ``relay.forwarding.chat@unknown-altered`` fault looks at this).
_KNOWN_CHAT_PARAMETERS: Final[frozenset[str]] = frozenset({
    "model", "messages", "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "logprobs",
    "max_completion_tokens", "max_tokens", "metadata", "modalities", "n", "parallel_tool_calls", "prediction",
    "presence_penalty", "reasoning_effort", "response_format", "seed", "service_tier", "stop", "store", "stream",
    "stream_options", "temperature", "tool_choice", "tools", "top_logprobs", "top_p", "user", "web_search_options",
})

FAULTS: Final[dict[str, str]] = {
    "relay.forwarding.chat": "chat: seed and stop are dropped on the way upstream",
    "relay.forwarding.chat@unknown-altered": "chat: an unknown top-level parameter is sent upstream as a string",
    "relay.forwarding.responses": "Responses: instructions is dropped on the way upstream",
    "relay.forwarding.embeddings": "embeddings: dimensions is dropped on the way upstream",
    "relay.forwarding.moderation": "moderations: only the first item of a list input is forwarded",
    "relay.forwarding.rerank": "rerank: top_n and return_documents are dropped on the way upstream",
    "relay.exactly-once": "every relayed request is sent upstream twice",
    "relay.answer.unchanged": "chat and Responses: the answer id and the first choice's finish_reason are rewritten",
    "relay.usage.exact": "usage is recomputed by the gateway (detail fields lost, counts invented)",
    "relay.key.client-key": "the client's API key is sent upstream too (an X-Client-Authorization header)",
    "relay.key.channel-key": "errors of a refused channel say which channel key was refused",
    "relay.errors.client-error": "an upstream 400 reaches the client as 400 without the upstream's message",
    "relay.errors.channel-auth": "an upstream 401/403 (bad channel key) is passed on to the client as 401",
    "relay.errors.rate-limit": "an upstream 429 reaches the client without Retry-After",
    "relay.errors.server-error": "an upstream 5xx reaches the client as 200 carrying the upstream's error",
    "relay.errors.timeout": "the relay really waits 0.8 s longer than its declared timeout (504 late)",
    "relay.concurrency": "answers of requests in flight together are swapped (one shared answer slot)",
    **STREAM_FAULTS,
    **MEDIA_FAULTS,
}


class Relay:
    """Forwards relay requests to one upstream with one channel key.

    Args:
        base_url: the upstream base URL (``http://host:port/v1``).
        key: the channel key the upstream expects.
        timeout: the declared upstream timeout, seconds (first byte to complete answer).
        models: client model -> upstream model (default ``RELAY_MODELS``; a store channel's own, D103).
    """

    def __init__(self, base_url: str, key: str, timeout: float, *,
                 models: dict[str, str] | None = None) -> None:
        self.models = RELAY_MODELS if models is None else models   # s7: a store channel's own mapping
        self._base = base_url.rstrip("/")
        self._key = key
        self._timeout = timeout
        self._client = httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0))
        self._slot: tuple[int, dict[str, Any]] | None = None
        self._drains: set[asyncio.Task[None]] = set()

    @staticmethod
    def handles(path: str, body: dict[str, Any]) -> bool:
        """Whether a parsed request (spec path, JSON body) is one for the upstream."""
        return path in RELAYED_PATHS and body.get("model") in RELAY_MODELS

    async def forward(self, path: str, body: dict[str, Any], client_key: str, faults: FaultSet,
                      form: tuple[dict[str, str], Upload | None] | None = None) -> Response:
        """Send ``body`` upstream and answer the client (raises ApiError/HttpError for errors).

        ``form``: a request's multipart text fields and upload; on a multipart path
        (``FORM_RELAYED``) they are re-sent as multipart (``body`` then only routes it).
        """
        form = form if path in FORM_RELAYED else None
        outbound = _outbound(path, {**body, "model": self.models.get(str(body["model"]), body["model"])}, faults)
        headers = {"Authorization": f"Bearer {self._key}"}
        if faults.on("relay.key.client-key") and client_key:   # a channel test has no client key to leak
            headers["X-Client-Authorization"] = f"Bearer {client_key}"
        timeout = self._timeout + (_LATE if faults.on("relay.errors.timeout") else 0.0)
        attempts = 2 if faults.on("relay.exactly-once") else 1
        if outbound.get("stream") is True:
            return await self._stream(path, outbound, headers, timeout, attempts, faults, body.get("model"))
        for _ in range(attempts):
            response = await self._send(path, outbound, headers, timeout, form, faults)
        status, payload = response.status_code, _payload(response)
        if status >= 400:
            raise self._error(status, payload, response.headers.get("retry-after"), faults)
        kind = response.headers.get("content-type", "")
        if path in MEDIA_RELAYED and not kind.startswith("application/json"):
            return binary_answer(path, response.content, kind, faults)   # speech audio, a text transcript
        if not isinstance(payload, dict):
            raise ApiError(502, "The upstream answered with something that is not JSON.", "upstream_error",
                           code="bad_upstream_response")
        answer = _inbound(payload, str(body.get("model")), faults)
        if faults.on("relay.concurrency"):
            answer = await self._shared_slot(answer)
        return json_response(answer, 200)

    async def _stream(self, path: str, outbound: dict[str, Any], headers: dict[str, str], timeout: float,
                      attempts: int, faults: FaultSet, model: object) -> Response:
        """A streamed request: the upstream's events are passed on as they arrive (relay_stream)."""
        for _ in range(attempts - 1):
            await self._send(path, outbound, headers, timeout)
        request = self._client.build_request("POST", self._base + path, json=outbound, headers=headers,
                                             timeout=httpx.Timeout(timeout, read=None))
        response = await _bounded(self._client.send(request, stream=True), timeout)
        if response.status_code >= 400:
            await response.aread()
            await response.aclose()
            raise self._error(response.status_code, _payload(response), response.headers.get("retry-after"), faults)

        def abandon(task: asyncio.Task[None]) -> None:
            self._drains.add(task)
            task.add_done_callback(self._drains.discard)

        chunks = relay_events(response, responses=path == "/responses", model=str(model), timeout=timeout,
                              faults=faults, on_abandon=abandon)
        return StreamingResponse(chunks, media_type=response.headers.get("content-type", "text/event-stream"),
                                 headers={"Cache-Control": "no-cache"})

    async def aclose(self) -> None:
        """Cancel the drains of abandoned streams, then close the outbound client."""
        for task in list(self._drains):
            task.cancel()
        await self._client.aclose()

    async def _send(self, path: str, outbound: dict[str, Any], headers: dict[str, str], timeout: float,
                    form: tuple[dict[str, str], Upload | None] | None = None,
                    faults: FaultSet | None = None) -> httpx.Response:
        if form is not None and faults is not None:
            data, files = outbound_form(path, form[0], form[1], str(outbound["model"]), faults)
            return await _bounded(self._client.post(self._base + path, data=data, files=files, headers=headers,
                                                    timeout=httpx.Timeout(timeout)), timeout)
        return await _bounded(self._client.post(self._base + path, json=outbound, headers=headers,
                                                timeout=httpx.Timeout(timeout)), timeout)

    def _error(self, status: int, payload: Any, retry_after: str | None, faults: FaultSet) -> ApiError:
        message, code = _upstream_error(payload)
        if faults.on("relay.errors.server-error") and status >= 500:
            raise _Passthrough(payload)
        if status in (401, 403):
            if faults.on("relay.errors.channel-auth"):
                return ApiError(401, message, "authentication_error", code=code)
            text = "The upstream refused the gateway's channel credentials."
            if faults.on("relay.key.channel-key"):
                text += f" Channel key: {self._key}."
            return ApiError(502, text, "upstream_error", code="upstream_auth_failed")
        if status == 429:
            headers = () if retry_after is None or faults.on("relay.errors.rate-limit") else (
                ("Retry-After", retry_after),)
            return HttpError(429, message, "rate_limit_error", code=code, headers=headers)
        if status >= 500:
            return ApiError(502, f"The upstream failed ({status}): {message}", "upstream_error", code=code)
        if status == 400 and faults.on("relay.errors.client-error"):
            return ApiError(400, "Bad request.", code=code)
        return ApiError(status, message, "invalid_request_error", code=code)

    async def _shared_slot(self, answer: dict[str, Any]) -> dict[str, Any]:
        """The ``relay.concurrency`` fault: the last answer stored wins for everyone waiting."""
        self._slot = (id(answer), answer)
        await asyncio.sleep(0.05)
        return self._slot[1]


class _Passthrough(Exception):
    """The ``relay.errors.server-error`` fault: an upstream error body answered as 200."""

    def __init__(self, payload: Any) -> None:
        super().__init__("passthrough")
        self.payload = payload


async def forward_or_passthrough(relay: Relay, path: str, body: dict[str, Any], client_key: str,
                                 faults: FaultSet, form: tuple[dict[str, str], Upload | None] | None = None
                                 ) -> Response:
    """``Relay.forward``, with the server-error fault's 200 passthrough turned into a response."""
    try:
        return await relay.forward(path, body, client_key, faults, form)
    except _Passthrough as passthrough:
        return json_response(passthrough.payload, 200)


def _outbound(path: str, body: dict[str, Any], faults: FaultSet) -> dict[str, Any]:
    outbound = dict(body)   # the model is already mapped by the caller
    if path == "/chat/completions" and faults.on("relay.forwarding.chat"):
        outbound.pop("seed", None)
        outbound.pop("stop", None)
    if path == "/chat/completions" and faults.on("relay.forwarding.chat@unknown-altered"):
        known = _KNOWN_CHAT_PARAMETERS
        outbound.update({k: json.dumps(v) for k, v in body.items() if k not in known})
    if path == "/responses" and faults.on("relay.forwarding.responses"):
        outbound.pop("instructions", None)
    if path == "/embeddings" and faults.on("relay.forwarding.embeddings"):
        outbound.pop("dimensions", None)
    if path == "/moderations" and faults.on("relay.forwarding.moderation") and isinstance(body.get("input"), list):
        outbound["input"] = body["input"][:1]
    if path == "/rerank" and faults.on("relay.forwarding.rerank"):
        outbound.pop("top_n", None)
        outbound.pop("return_documents", None)
    return outbound_media(path, outbound, faults) if path in MEDIA_RELAYED else outbound


def _inbound(payload: dict[str, Any], model: str, faults: FaultSet) -> dict[str, Any]:
    answer = {**payload, "model": model} if "model" in payload else dict(payload)
    if faults.on("relay.answer.unchanged") and ("choices" in answer or "output" in answer):
        answer["id"] = "gw-" + str(answer.get("id", ""))
        choices = answer.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            choices[0] = {**choices[0], "finish_reason": "length"}
    usage = answer.get("usage")
    if faults.on("relay.usage.exact") and isinstance(usage, dict):
        answer["usage"] = {k: v + 1 for k, v in usage.items() if isinstance(v, int)}
    return answer


def _payload(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _upstream_error(payload: Any) -> tuple[str, str | None]:
    """The upstream error's message and code (a placeholder when it sent no envelope)."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        code = error.get("code")
        return str(error.get("message") or "The upstream failed."), code if isinstance(code, str) else None
    return "The upstream failed without an error envelope.", None


async def _bounded(call: Awaitable[httpx.Response], timeout: float) -> httpx.Response:
    """The upstream's answer within ``timeout``: 504 when it is slower, 502 when it cannot be reached."""
    try:
        return await asyncio.wait_for(call, timeout)
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise ApiError(504, f"The upstream did not answer within {timeout:g} s.", "upstream_error",
                       code="upstream_timeout") from exc
    except httpx.HTTPError as exc:
        raise ApiError(502, "The upstream could not be reached.", "upstream_error",
                       code="upstream_unreachable") from exc
