"""The HTTP layer of the reference gateway: routing, auth, limits, parsing, validation.

Owns ``create_app`` and the request pipeline. Order matters and is the contract:
route (404/405) -> auth (401/429/403) -> rate limit (429) -> body limit (413) ->
content type (415) -> parse (400) -> schema (400) -> model (404/403) -> engine.
A base URL ``/fault/<a>+<b>/v1`` serves the same API with those faults on for that
request. Assets are served at ``/assets/{id}`` without auth. Imports ``conformance.spec``
(through ``validation``) and never ``conformance.checks`` or ``conformance.suites``.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from conformance.errors import ConfigError
from conformance.reference import bodies, models_api
from conformance.reference.api_error import ApiError
from conformance.reference.channel_relay import ChannelRouter  # s7
from conformance.reference.config import ReferenceConfig
from conformance.reference.engines import BinaryResult, StreamResult
from conformance.reference.faults import catalogue, parse_faults
from conformance.reference.faultset import FaultSet
from conformance.reference.http_errors import (
    Answer,
    HttpError,
    body_too_large,
    json_response,
    malformed_header,
    method_not_allowed,
    missing_key,
    model_not_found,
    render_error,
    unknown_path,
)
from conformance.reference.keys import KeyRing, KeyState, RateLimiter
from conformance.reference.lifespan import closing_lifespan  # s7
from conformance.reference.metering import Record, meter  # s7
from conformance.reference.model_rules import enforce as enforce_model_rules
from conformance.reference.operations import (
    ROUTES,
    Call,
    EngineResult,
    Engines,
    ModuleEngines,
    Operation,
    Upload,
    call_engine,
    match,
)
from conformance.reference.platform_api import PlatformApi
from conformance.reference.platform_relay import RelayAccounting
from conformance.reference.platform_store import PlatformStore
from conformance.reference.relay import Relay, forward_or_passthrough
from conformance.reference.validation import RequestSchemas, coerce_form

logger = logging.getLogger("conformance.reference.app")

_FAULT_PREFIX = re.compile(r"^/fault/(?P<names>[^/]+)(?P<rest>/.*)$")
_API_PREFIX = "/v1"

_EMPTY = frozenset({"minLength", "minItems"})
#: Engine faults that need an input the schema rejects to reach the engine: while the fault
#: is on, schema errors of these keywords under these top-level fields are left to the engine
#: (which then answers 400 or, faulted, accepts the input). Any other error stays a 400 here.
DELEGATED: dict[str, tuple[str, dict[str, frozenset[str]]]] = {
    "audio.speech.invalid-speed": ("/audio/speech", {"speed": frozenset({"minimum", "maximum"})}),
    "audio.speech.empty-input": ("/audio/speech", {"input": _EMPTY}),
    "embeddings.empty-input": ("/embeddings", {"input": _EMPTY}),
    "rerank.empty-input": ("/rerank", {"query": _EMPTY, "documents": _EMPTY}),
}


#: Schema problem kind -> the fault that answers it 422 (``@422``: FastAPI-style body).
_VALIDATION_FAULTS = {
    "missing": "errors.missing-required-field",
    "type": "errors.wrong-type",
    "range": "errors.out-of-range",
    "enum": "errors.unknown-enum-value",
}


def create_app(
    config: ReferenceConfig,
    *,
    engines: Engines | None = None,
    schemas: RequestSchemas | None = None,
    known_faults: Iterable[str] | None = None,
) -> Starlette:
    """The reference gateway as an ASGI app.

    Args:
        config: keys, limits and always-on faults.
        engines: the engines to call (default: the real ones, ``ModuleEngines``).
        schemas: request schemas (default: the project's spec).
        known_faults: names accepted in ``/fault/...`` URLs (default: the whole catalogue).
    """
    gateway = Gateway(
        config,
        engines if engines is not None else ModuleEngines(video_polls_to_complete=config.video_polls_to_complete),
        schemas if schemas is not None else RequestSchemas.from_spec(),
        frozenset(catalogue() if known_faults is None else known_faults),
    )
    # The gateway routes itself so that every 404/405 gets the envelope. It is also the router's
    # default: a path the catch-all pattern cannot match (an encoded newline) reaches it too.
    app = Starlette(routes=[Route("/{path:path}", endpoint=gateway)],
                    lifespan=closing_lifespan(gateway.channels.aclose))  # s7: relay clients closed on shutdown
    app.router.default = gateway
    return app


class Gateway:
    """The ASGI endpoint behind every path; holds the state of one reference app."""

    def __init__(self, config: ReferenceConfig, engines: Engines, schemas: RequestSchemas,
                 known_faults: frozenset[str]) -> None:
        self.config = config
        self.engines = engines
        self.schemas = schemas
        self.known_faults = known_faults
        self.keys = KeyRing.from_config(config)
        self.limiter = RateLimiter(config.rate_limit_requests, config.rate_limit_window_seconds)
        self.store = PlatformStore(config.api_key)
        self.relay = (Relay(config.upstream_url, config.channel_key, config.relay_timeout)
                      if config.upstream_url else None)
        self.channels = ChannelRouter(self.store, config.relay_timeout, default=self.relay)  # s7: D103
        self.platform = PlatformApi(self.store, channel_test=self.channels.test)  # s7: real channel test
        self.accounting = RelayAccounting(self.store)
        #: Requests seen, by (method, "management" | "relay"): the self-tests count writes with it.
        self.requests: Counter[tuple[str, str]] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        """Answer one request; every error becomes the (possibly faulted) envelope."""
        faults = self.config.faults
        try:
            path, faults = self._split_faults(request.url.path)
            self.requests[(request.method, "management" if path.startswith("/api/") else "relay")] += 1
            return await self._route(request, path, faults)
        except Answer as answer:
            return answer.response
        except HttpError as error:
            return render_error(error, faults, headers=dict(error.headers))
        except ApiError as error:
            return render_error(error, faults)
        except Exception:  # the last line: a bug of ours must still answer with the envelope (and be logged)
            logger.exception("reference gateway bug on %s %s", request.method, request.url.path)
            return render_error(ApiError(500, "Internal error of the reference gateway.", "server_error"), faults)

    def _split_faults(self, path: str) -> tuple[str, FaultSet]:
        found = _FAULT_PREFIX.match(path)
        if not found:
            return path, self.config.faults
        try:
            extra = parse_faults([found["names"]], known=self.known_faults)
        except ConfigError as exc:
            raise ApiError(404, str(exc), code="unknown_fault") from exc
        return found["rest"], FaultSet(self.config.faults.names | extra.names)

    async def _route(self, request: Request, path: str, faults: FaultSet) -> Response:
        method = request.method
        if path.startswith("/assets/") and request.url.path == path:
            return self._asset(method, path)
        if path.startswith("/api/") and self.platform.handles(path):
            return await self.platform.handle(request, path, faults)
        matched = match(path[len(_API_PREFIX):]) if path.startswith(_API_PREFIX + "/") else None
        if matched is None:
            if faults.on("errors.unknown-path@html"):
                raise Answer(Response("<html><body><h1>404 Not Found</h1></body></html>", 404, media_type="text/html"))
            if faults.on("errors.unknown-path"):
                raise ApiError(400, f"Invalid request ({method} {path})", code="invalid_request")
            raise unknown_path(method, path)
        template, params = matched
        if template == "/models/{model}" and faults.on("models.retrieve.shape@unrouted"):
            raise unknown_path(method, path)  # a gateway without this documented route
        operations = ROUTES[template]
        if method not in operations:
            if faults.on("errors.wrong-method"):
                raise Answer(json_response({}, 200))
            if faults.on("errors.wrong-method-405"):
                raise unknown_path(method, path)
            raise method_not_allowed(method, path, sorted(operations))
        operation = operations[method]
        if operation.capability is not None and not self.config.serves(operation.capability):
            raise unknown_path(method, path)   # a gateway that does not route this capability
        return await self._serve(request, operation, params, faults)

    def _asset(self, method: str, path: str) -> Response:
        if method != "GET":
            raise method_not_allowed(method, path, ["GET"])
        found = self.engines.asset(path[len("/assets/"):])
        if found is None:
            raise ApiError(404, f"No asset at {path}.", code="not_found")
        return Response(found[0], media_type=found[1])

    async def _serve(self, request: Request, op: Operation, params: dict[str, str], faults: FaultSet) -> Response:
        limit = None if faults.on("errors.body-too-large") else self.config.body_limit_bytes
        raw, oversize = await bodies.read_body(request, limit)
        key, state = self._authenticate(request, faults)
        self._rate_limit(key, state, faults)
        token = self.accounting.admit(key, faults)
        try:
            return await self._serve_admitted(request, op, params, faults, raw, oversize, key, state, token)
        except (ApiError, HttpError):
            self.accounting.failed(token, faults)
            raise

    async def _serve_admitted(self, request: Request, op: Operation, params: dict[str, str], faults: FaultSet,
                              raw: bytes, oversize: bool, key: str, state: KeyState, token: object) -> Response:
        if oversize:
            raise body_too_large(self.config.body_limit_bytes)
        body, fields, upload = await self._parse(request, raw, op, faults)
        relay = self.channels.route(op.path, body, faults)  # s7: a store channel, else the configured relay (D103)
        if relay is not None:
            relayed = await forward_or_passthrough(relay, op.path, body, key, faults, (fields, upload))
            return meter(relayed, self._recorder(token, str(body.get("model", "")), faults))  # s7: D100
        if op.capability is not None:
            model = self._check_model(op, body, state, faults)
            if op.path == "/chat/completions":
                enforce_model_rules(model, body)  # issue 19 (s6): the reasoning model's parameter rules
            scoped = self.config.faults_of_model(model)
            if scoped:
                faults = FaultSet(faults.names | scoped)
            self.accounting.check_model(token, body.get("model", model), faults)
            if op.body == "json":
                body = {**body, "model": model}
            else:
                fields = {**fields, "model": model}
        temperature = body.get("temperature")
        if faults.on("errors.no-server-error") and isinstance(temperature, (int, float)) and temperature > 1:
            raise ApiError(500, "Internal server error.", "server_error")
        if op.engine == "models_list":
            return self._models_json(models_api.list_models(faults, self.config.model_ids()), faults)
        if op.engine == "models_retrieve":
            found = models_api.retrieve_model(params["model"], faults, self.config.model_ids())
            return self._models_json(found, faults)
        call = Call(faults, _public_base(request), body, fields, upload, params)
        try:
            result = call_engine(self.engines, op, call)
            return meter(self._respond(result), self._recorder(token, str(body.get("model", "")), faults))  # s7
        except ApiError as error:
            if error.status == 404 and op.engine == "video_get" and faults.on("auth.valid-key"):
                # A gateway that cannot tell "no such task" from "not your task".
                raise ApiError(403, "This task does not belong to your API key.", "permission_error",
                               code="access_denied") from error
            raise

    def _recorder(self, token: object, model: str, faults: FaultSet) -> Record:  # s7: one accounting path
        """The metering callback that logs and charges ``token`` for an answer's usage (D100)."""
        return lambda answer, request_id, stream: self.accounting.served(
            token, model, answer, request_id, faults, stream=stream)

    def _authenticate(self, request: Request, faults: FaultSet) -> tuple[str, KeyState]:
        header = request.headers.get("authorization")
        if header is None:
            if faults.on("auth.missing-key"):
                return self.config.api_key, KeyState.VALID
            raise missing_key()
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key or any(ch.isspace() for ch in key):
            if faults.on("auth.malformed-header"):
                raise ApiError(400, "Bad Authorization header.", code="bad_request")
            raise malformed_header()
        state = self.keys.state(key)
        if state is None and self.accounting.known(key):
            state = KeyState.VALID   # a token of the platform store: its own state is checked next
        if state is None:
            if faults.on("auth.unknown-key@500"):
                raise ApiError(500, "Internal error while checking the API key.", "server_error")
            if faults.on("auth.unknown-key"):
                raise ApiError(403, "Access denied.", "permission_error", code="invalid_api_key")
            code = None if faults.on("auth.unknown-key-code") else "invalid_api_key"
            shown = key if faults.on("auth.key-not-echoed") else _masked(key)
            raise ApiError(401, f"Incorrect API key provided: {shown}.", code=code)
        _refuse_key_state(state, faults)
        return key, state

    def _rate_limit(self, key: str, state: KeyState, faults: FaultSet) -> None:
        if state is not KeyState.RATE_LIMITED or faults.on("errors.rate-limited"):
            return
        # One bucket per key and fault set: faulted variants on one server stay independent.
        wait = self.limiter.admit((key, faults.names), sticky=faults.on("errors.rate-limit-recovers"))
        if wait is None:
            return
        headers = () if faults.on("errors.rate-limit-retry-after") else (("Retry-After", str(wait)),)
        raise HttpError(429, f"Rate limit reached for this key: retry in {wait} s.", "rate_limit_error",
                        code="rate_limit_exceeded", headers=headers)

    async def _parse(
        self, request: Request, raw: bytes, op: Operation, faults: FaultSet
    ) -> tuple[dict[str, Any], dict[str, str], Upload | None]:
        """The validated body (JSON, or multipart fields coerced to their types), the raw
        multipart text fields and the upload."""
        if op.body is None:
            return {}, {}, None
        kind = bodies.media_type(request.headers)
        if op.body == "json":
            if kind != "application/json" and not faults.on("errors.wrong-content-type"):
                raise bodies.unsupported(request.headers, "application/json")
            body = bodies.parse_json(raw, faults)
            self._validate(op, body, faults)
            return body, {}, None
        if kind != "multipart/form-data":
            raise bodies.unsupported(request.headers, "multipart/form-data")
        texts, upload = await bodies.parse_multipart(request.headers, raw)
        instance = coerce_form(texts, self.schemas, op.path)
        # A missing file is the engine's to answer (400, or its own fault): validate as if present.
        instance["file"] = "<binary>"
        self._validate(op, instance, faults)
        return instance, dict(texts), upload

    def _validate(self, op: Operation, instance: dict[str, Any], faults: FaultSet) -> None:
        delegate: dict[str, frozenset[str]] = {}
        for name, (path, fields) in DELEGATED.items():
            # Scoped to the fault's own operation: elsewhere the same field stays validated.
            if faults.on(name) and op.path == path:
                delegate.update(fields)
        problem = self.schemas.problem(op.path, op.method, op.media_type, instance, delegate=delegate)
        if problem is not None:
            # The validation faults bend /chat/completions only: the other suites' 400 tests
            # (empty input, bad speed) grade the same answers under their own requirements.
            fault = _VALIDATION_FAULTS.get(problem.kind) if op.path == "/chat/completions" else None
            if fault is not None and faults.on(fault + "@422"):
                detail = [{"loc": ["body", *(problem.param or "").split(".")], "msg": problem.message,
                           "type": problem.code}]
                raise Answer(json_response({"detail": detail}, 422))
            status = 422 if fault is not None and faults.on(fault) else 400
            raise ApiError(status, problem.message, param=problem.param, code=problem.code)
        if faults.on("errors.unknown-field-ignored"):
            known = self.schemas.properties(op.path, op.method, op.media_type)
            extra = sorted(set(instance) - set(known))
            if extra:
                raise ApiError(400, f"Unrecognized request argument supplied: {extra[0]}", param=extra[0],
                               code="unknown_parameter")

    def _check_model(self, op: Operation, body: dict[str, Any], state: KeyState, faults: FaultSet) -> str:
        assert op.capability is not None
        served = self.config.models_for(op.capability)
        model = body.get("model", served[0])  # the schema decides whether model may be left out
        if model not in served:
            if faults.on("errors.unknown-model-rejected"):
                return served[0]
            error = model_not_found(model, op.capability)
            if faults.on("errors.no-error-in-2xx") and op.path == "/chat/completions":
                raise Answer(json_response(error.envelope(), 200))
            status = 400 if faults.on("errors.unknown-model-404") else 404
            code = None if faults.on("errors.unknown-model-code") else error.code
            raise ApiError(status, error.message, param="model", code=code)
        if (state is KeyState.MODEL_RESTRICTED and model == self.keys.restricted_model
                and not faults.on("auth.model-restricted")):
            raise ApiError(403, f"This API key is not allowed to use the model {model!r}.", "permission_error",
                           param="model", code="model_not_allowed")
        return str(model)

    def _models_json(self, payload: object, faults: FaultSet) -> Response:
        media_type = "text/html" if faults.on("errors.documented-content-type") else "application/json"
        return json_response(payload, 200, media_type=media_type)

    def _respond(self, result: EngineResult) -> Response:
        if isinstance(result, StreamResult):
            return StreamingResponse(result.chunks, media_type=result.content_type,
                                     headers={"Cache-Control": "no-cache"})
        if isinstance(result, BinaryResult):
            return Response(result.body, status_code=result.status, media_type=result.content_type)
        return json_response(result, 200)


def _refuse_key_state(state: KeyState, faults: FaultSet) -> None:
    """Raise the answer for a key that exists but may not be served (unless faulted)."""
    if state is KeyState.DISABLED and not faults.on("auth.disabled-key"):
        raise ApiError(401, "This API key has been disabled.", code="api_key_disabled")
    if state is KeyState.EXPIRED and not faults.on("auth.expired-key"):
        raise ApiError(401, "This API key has expired.", code="api_key_expired")
    if state is KeyState.EXHAUSTED and not faults.on("auth.exhausted-key"):
        code = "quota_exceeded" if faults.on("auth.exhausted-key-code") else "insufficient_quota"
        raise ApiError(429, "You exceeded your current quota, please check your plan and billing details.",
                       "insufficient_quota", code=code)


def _masked(key: str) -> str:
    """A key as an error may show it: a few characters at each end (new-api's habit)."""
    return f"{key[:3]}***{key[-3:]}" if len(key) > 8 else "***"


def _public_base(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"
