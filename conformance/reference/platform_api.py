"""The reference gateway's management API (``/api/...``) over the shared ``PlatformStore``.

Owns ``PLATFORM_FAULTS`` (one named fault per ``platform.*`` requirement the reference can
break here or in the relay) and ``PlatformApi.handle``: routing, dashboard auth (an access
token as a bearer, an optional ``New-Api-User`` header that must then name the same user),
the new-api envelope (``success``/``message``/``data``; business failures are HTTP 200 with
``success: false``) and paging (``p``, ``page_size``; ``PageInfo``). Never imports checks or
suites. Decisions: openapi/DECISIONS.md D50-D59.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from conformance.reference.faultset import FaultSet
from conformance.reference.platform_store import (
    CODE_ENABLED,
    TOKEN_ENABLED,
    Channel,
    PlatformStore,
    Redemption,
    User,
    new_key,
)

PLATFORM_FAULTS: dict[str, str] = {
    "platform.schema": "listed tokens carry status as a string ('enabled')",
    "platform.envelope": "a business failure (unknown token id) is answered 404 without success: false",
    "platform.paging": "token and log lists ignore page_size (every item on one page)",
    "platform.token-usage": "GET /api/usage/token refuses the relay key (401)",
    "platform.logs.calls": "a served relay call writes no log",
    "platform.logs.calls@tokens": "the log of a served call records one completion token more than the answer",
    "platform.quota.adds-up": "a served relay call is logged but the token's used_quota does not grow",
    "platform.logs.failed-call": "a relay call that fails after auth (unknown model) is charged 7 quota",
    "platform.isolation": "GET /api/token/{id} answers another user's token",
    "platform.relay-key-refused": "a relay key authenticates the management API as its owner",
    "platform.token.disable": "a disabled store token is still served",
    "platform.token.expire": "an expired store token is still served",
    "platform.token.exhaust": "a store token with no quota left is still served",
    "platform.token.model-limits": "a store token's model limits are ignored",
    "platform.token.delete": "a deleted store token is still served",
    "platform.redemption.once": "a used redemption code can be redeemed again",
    "platform.channel.lifecycle": "deleting a channel answers success but keeps it",
    "platform.logs.calls@stream": "streamed calls are charged but not logged",
    "platform.channel.lifecycle@unrouted": "a created channel is listed and tested but never serves its models",
}

_MAX_PAGE = 100
_DEFAULT_PAGE = 10
Handler = Callable[[Request, User, dict[str, str], FaultSet], Any]
#: A real channel test: (channel, faults) -> (succeeded, seconds, message).
ChannelTest = Callable[[Channel, FaultSet], Awaitable[tuple[bool, float, str]]]


class Refused(Exception):
    """An answer other than success: HTTP status and body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body


def _fail(message: str) -> Refused:
    """A business failure: HTTP 200, ``success: false`` (new-api ``common.ApiError``)."""
    return Refused(200, {"success": False, "message": message})


def _unauthorized(message: str = "Unauthorized: no valid access token.") -> Refused:
    return Refused(401, {"success": False, "message": message, "code": "AUTH_UNAUTHORIZED"})


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def page(items: list[dict[str, Any]], query: dict[str, str], faults: FaultSet) -> dict[str, Any]:
    """A PageInfo of ``items`` for ``p`` (1-based) and ``page_size`` (aliases ps, size; max 100)."""
    number = max(1, _int(query.get("p"), 1))
    size = _int(query.get("page_size") or query.get("ps") or query.get("size"), _DEFAULT_PAGE)
    size = min(max(1, size), _MAX_PAGE)
    if faults.on("platform.paging"):
        return {"page": number, "page_size": size, "total": len(items), "items": items}
    start = (number - 1) * size
    return {"page": number, "page_size": size, "total": len(items), "items": items[start:start + size]}


class PlatformApi:
    """The ``/api`` routes of one reference gateway."""

    def __init__(self, store: PlatformStore, *, channel_test: ChannelTest | None = None) -> None:
        self.store = store
        self.channel_test = channel_test   # the relay's real channel test (D103); None: always succeeds
        self._routes: list[tuple[str, re.Pattern[str], Handler, bool]] = []
        for method, pattern, handler, admin in (
            ("GET", r"/api/user/self", self._self, False),
            ("POST", r"/api/user/topup", self._topup, False),
            ("GET", r"/api/token/", self._tokens, False),
            ("POST", r"/api/token/", self._token_create, False),
            ("PUT", r"/api/token/", self._token_update, False),
            ("GET", r"/api/token/(?P<id>\d+)", self._token_get, False),
            ("DELETE", r"/api/token/(?P<id>\d+)", self._token_delete, False),
            ("POST", r"/api/token/(?P<id>\d+)/key", self._token_key, False),
            ("GET", r"/api/log/self", self._logs_self, False),
            ("GET", r"/api/log/self/stat", self._logs_stat, False),
            ("GET", r"/api/channel/", self._channels, True),
            ("POST", r"/api/channel/", self._channel_create, True),
            ("GET", r"/api/channel/(?P<id>\d+)", self._channel_get, True),
            ("DELETE", r"/api/channel/(?P<id>\d+)", self._channel_delete, True),
            ("GET", r"/api/channel/test/(?P<id>\d+)", self._channel_test, True),
            ("GET", r"/api/redemption/", self._codes, True),
            ("POST", r"/api/redemption/", self._code_create, True),
            ("DELETE", r"/api/redemption/(?P<id>\d+)", self._code_delete, True),
        ):
            self._routes.append((method, re.compile(pattern + "$"), handler, admin))

    def handles(self, path: str) -> bool:
        """Whether ``path`` is a management route (other paths get the relay's 404)."""
        return path in ("/api/usage/token", "/api/log/token") or any(p.match(path) for _, p, _, _ in self._routes)

    async def handle(self, request: Request, path: str, faults: FaultSet) -> Response:
        """Answer one management request (``path`` starts with ``/api/``)."""
        try:
            if path == "/api/usage/token":
                return JSONResponse(self._usage(request, faults))
            if path == "/api/log/token":
                return JSONResponse(self._logs_of_key(request, faults))
            handler, params, admin = self._match(request.method, path)
            user = self._authenticate(request, faults)
            if admin and user.role < 10:
                raise Refused(403, {"success": False, "message": "Admin only.", "code": "AUTH_INSUFFICIENT_PRIVILEGE"})
            data = await handler(request, user, params, faults)
            return JSONResponse({"success": True, "message": "", "data": data})
        except Refused as refused:
            return JSONResponse(refused.body, refused.status)

    def _match(self, method: str, path: str) -> tuple[Handler, dict[str, str], bool]:
        known = False  # a path of another method: 405
        for verb, pattern, handler, admin in self._routes:
            found = pattern.match(path)
            if found:
                known = True
                if verb == method:
                    return handler, found.groupdict(), admin
        status = 405 if known else 404
        raise Refused(status, {"success": False, "message": f"No management route {method} {path}."})

    def _authenticate(self, request: Request, faults: FaultSet) -> User:
        header = request.headers.get("authorization", "").strip()
        scheme, _, rest = header.partition(" ")
        secret = rest.strip() if scheme.lower() == "bearer" else header
        if not secret:
            raise _unauthorized("Unauthorized: no access token.")
        user = self.store.user_by_access_token(secret)
        if user is None and faults.on("platform.relay-key-refused"):
            token = self.store.token_by_key(secret)
            user = self.store.users.get(token.user_id) if token is not None else None
        if user is None:
            raise _unauthorized()
        claimed = request.headers.get("new-api-user")
        if claimed is not None and claimed.strip() != str(user.id):
            raise _unauthorized("Unauthorized: New-Api-User does not match the access token.")
        return user

    def _relay_token(self, request: Request) -> Any:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        token = self.store.token_by_key(key.strip()) if scheme.lower() == "bearer" and key.strip() else None
        if token is None:
            raise Refused(401, {"success": False, "message": "Invalid token."})
        return token

    # ------------------------------------------------------------------ relay key reads

    def _usage(self, request: Request, faults: FaultSet) -> dict[str, Any]:
        if faults.on("platform.token-usage"):
            raise Refused(401, {"success": False, "message": "Invalid token."})
        token = self._relay_token(request)
        return {"code": True, "message": "ok", "data": {
            "object": "token_usage", "name": token.name,
            "total_granted": token.remain_quota + token.used_quota, "total_used": token.used_quota,
            "total_available": token.remain_quota, "unlimited_quota": token.unlimited_quota,
            "model_limits": {m: True for m in token.model_limits.split(",") if m},
            "model_limits_enabled": token.model_limits_enabled,
            "expires_at": 0 if token.expired_time == -1 else token.expired_time,
        }}

    def _logs_of_key(self, request: Request, faults: FaultSet) -> dict[str, Any]:
        token = self._relay_token(request)
        with self.store.lock:
            logs = [vars(log).copy() for log in self.store.logs if log.token_id == token.id]
        return {"success": True, "message": "", "data": logs}

    # ------------------------------------------------------------------ user

    async def _self(self, request: Request, user: User, params: dict[str, str], faults: FaultSet) -> Any:
        return user.public()

    async def _topup(self, request: Request, user: User, params: dict[str, str], faults: FaultSet) -> Any:
        body = await _json(request)
        added = self.store.redeem(user, str(body.get("key", "")), twice=faults.on("platform.redemption.once"))
        if added is None:
            raise _fail("The redemption code is invalid or has been used.")
        return added

    # ------------------------------------------------------------------ tokens

    def _own_token(self, user: User, params: dict[str, str], faults: FaultSet) -> Any:
        token = self.store.tokens.get(int(params["id"]))
        if token is not None and (token.user_id == user.id or faults.on("platform.isolation")):
            return token
        if faults.on("platform.envelope"):
            raise Refused(404, {"message": "not found"})
        raise _fail("Token not found.")

    async def _tokens(self, request: Request, user: User, params: dict[str, str], faults: FaultSet) -> Any:
        items = [t.public() for t in self.store.tokens_of(user.id)]
        if faults.on("platform.schema"):
            items = [{**t, "status": "enabled" if t["status"] == 1 else "disabled"} for t in items]
        return page(items, dict(request.query_params), faults)

    async def _token_get(self, request: Request, user: User, params: dict[str, str], faults: FaultSet) -> Any:
        return self._own_token(user, params, faults).public()

    async def _token_key(self, request: Request, user: User, params: dict[str, str], faults: FaultSet) -> Any:
        return {"key": self._own_token(user, params, faults).key}

    async def _token_create(self, request: Request, user: User, params: dict[str, str], faults: FaultSet) -> Any:
        body = await _json(request)
        name = body.get("name")
        if not isinstance(name, str) or not name or len(name) > 50:
            raise _fail("The token name must be 1 to 50 characters.")
        self.store.add_token(
            user.id, name, expired_time=_field(body, "expired_time", int, -1),
            remain_quota=_field(body, "remain_quota", int, 0),
            unlimited_quota=_field(body, "unlimited_quota", bool, False),
            model_limits_enabled=_field(body, "model_limits_enabled", bool, False),
            model_limits=_field(body, "model_limits", str, ""))
        return None

    async def _token_update(self, request: Request, user: User, params: dict[str, str], faults: FaultSet) -> Any:
        body = await _json(request)
        token = self._own_token(user, {"id": str(_field(body, "id", int, 0))}, faults)
        with self.store.lock:
            if request.query_params.get("status_only"):
                status = _field(body, "status", int, TOKEN_ENABLED)
                if status not in (1, 2):
                    raise _fail("A token's status can be set to 1 or 2 only.")
                token.status = status
            else:
                for name, kind in (("name", str), ("expired_time", int), ("remain_quota", int),
                                   ("unlimited_quota", bool), ("model_limits_enabled", bool),
                                   ("model_limits", str)):
                    setattr(token, name, _field(body, name, kind, getattr(token, name)))
        return token.public()

    async def _token_delete(self, request: Request, user: User, params: dict[str, str], faults: FaultSet) -> Any:
        token = self._own_token(user, params, faults)
        with self.store.lock:
            if faults.on("platform.token.delete"):
                token.user_id = -1    # hidden from its owner, still a live key
            else:
                del self.store.tokens[token.id]
        return None

    # ------------------------------------------------------------------ logs

    def _own_logs(self, user: User, query: dict[str, str]) -> list[dict[str, Any]]:
        with self.store.lock:
            logs = [vars(log).copy() for log in self.store.logs if log.user_id == user.id]
        for name in ("token_name", "model_name", "request_id"):
            wanted = query.get(name)
            if wanted:
                logs = [log for log in logs if log[name] == wanted]
        if query.get("type"):
            logs = [log for log in logs if str(log["type"]) == query["type"]]
        return sorted(logs, key=lambda log: -int(log["id"]))

    async def _logs_self(self, request: Request, user: User, params: dict[str, str], faults: FaultSet) -> Any:
        query = dict(request.query_params)
        return page(self._own_logs(user, query), query, faults)

    async def _logs_stat(self, request: Request, user: User, params: dict[str, str], faults: FaultSet) -> Any:
        logs = self._own_logs(user, dict(request.query_params))
        return {"quota": sum(int(log["quota"]) for log in logs if log["type"] == 2), "rpm": 0, "tpm": 0}

    # ------------------------------------------------------------------ channels (admin)

    def _channel(self, params: dict[str, str]) -> Channel:
        channel = self.store.channels.get(int(params["id"]))
        if channel is None:
            raise _fail("Channel not found.")
        return channel

    async def _channels(self, request: Request, user: User, params: dict[str, str], faults: FaultSet) -> Any:
        with self.store.lock:
            items = [c.public() for c in sorted(self.store.channels.values(), key=lambda c: -c.id)]
        return page(items, dict(request.query_params), faults)

    async def _channel_get(self, request: Request, user: User, params: dict[str, str], faults: FaultSet) -> Any:
        return self._channel(params).public()

    async def _channel_create(self, request: Request, user: User, params: dict[str, str], faults: FaultSet) -> Any:
        body = await _json(request)
        spec = body.get("channel")
        if body.get("mode", "single") != "single" or not isinstance(spec, dict) or not spec.get("name"):
            raise _fail("Give mode 'single' and a channel with a name.")
        channel = Channel(
            self.store.new_id("channel"), str(spec["name"]), type=_field(spec, "type", int, 1),
            key=_field(spec, "key", str, ""), base_url=spec.get("base_url") if isinstance(spec.get("base_url"), str)
            else None, models=_field(spec, "models", str, ""), group=_field(spec, "group", str, "default"),
            created_time=self.store.now(),
            model_mapping=spec.get("model_mapping") if isinstance(spec.get("model_mapping"), str) else None)
        with self.store.lock:
            self.store.channels[channel.id] = channel
        return None

    async def _channel_delete(self, request: Request, user: User, params: dict[str, str], faults: FaultSet) -> Any:
        channel = self._channel(params)
        if not faults.on("platform.channel.lifecycle"):
            with self.store.lock:
                del self.store.channels[channel.id]
        return None

    async def _channel_test(self, request: Request, user: User, params: dict[str, str], faults: FaultSet) -> Any:
        channel = self._channel(params)
        ok, seconds, message = (True, 0.001, "") if self.channel_test is None else await self.channel_test(channel,
                                                                                                            faults)
        channel.test_time, channel.response_time = self.store.now(), max(1, round(seconds * 1000))
        if not ok:
            raise _fail(f"The channel test failed: {message}")
        return {"time": seconds}

    # ------------------------------------------------------------------ redemptions (admin)

    async def _codes(self, request: Request, user: User, params: dict[str, str], faults: FaultSet) -> Any:
        with self.store.lock:
            items = [c.public() for c in sorted(self.store.codes.values(), key=lambda c: -c.id)]
        return page(items, dict(request.query_params), faults)

    async def _code_create(self, request: Request, user: User, params: dict[str, str], faults: FaultSet) -> Any:
        body = await _json(request)
        name, count, quota = body.get("name"), _field(body, "count", int, 1), _field(body, "quota", int, 100)
        if not isinstance(name, str) or not 1 <= len(name) <= 20 or not 1 <= count <= 100 or quota < 1:
            raise _fail("A redemption needs a name of 1 to 20 characters, a count of 1 to 100 and a quota.")
        keys = []
        with self.store.lock:
            for _ in range(count):
                code = Redemption(self.store.new_id("code"), user.id, new_key(32), name, quota,
                                  status=CODE_ENABLED, created_time=self.store.now(),
                                  expired_time=_field(body, "expired_time", int, 0))
                self.store.codes[code.id] = code
                keys.append(code.key)
        return keys

    async def _code_delete(self, request: Request, user: User, params: dict[str, str], faults: FaultSet) -> Any:
        with self.store.lock:
            if self.store.codes.pop(int(params["id"]), None) is None:
                raise _fail("Redemption not found.")
        return None


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise _fail("The request body is not JSON.") from exc
    if not isinstance(body, dict):
        raise _fail("The request body must be a JSON object.")
    return body


def _field(body: dict[str, Any], name: str, kind: type, default: Any) -> Any:
    value = body.get(name, default)
    if kind is int and isinstance(value, bool):
        raise _fail(f"{name} must be an integer.")
    if not isinstance(value, kind):
        raise _fail(f"{name} must be of type {kind.__name__}.")
    return value
