"""The reference gateway's platform state: users, tokens, logs, channels and redemption codes.

Owns ``PlatformStore``, the one in-memory store that the management API
(``conformance.reference.platform_api``) and the relay (``conformance.reference.app``) share:
a relay call with a store token is refused by the token's state at once, and a served call
writes a consume Log and charges the token and its user. Pure bookkeeping under one lock;
HTTP answers are decided by the callers. Quota rule of the reference (D52): one quota per
prompt or completion token; a failed relay call is charged nothing.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

#: Log types (new-api common/constants.go).
LOG_TOPUP = 1
LOG_CONSUME = 2
#: Token states.
TOKEN_ENABLED, TOKEN_DISABLED, TOKEN_EXPIRED, TOKEN_EXHAUSTED = 1, 2, 3, 4
#: Redemption states.
CODE_ENABLED, CODE_USED = 1, 3
#: The management access tokens and user ids of the reference's three accounts.
USER_ACCESS_TOKEN = "nexhina-reference-access-user"
OTHER_ACCESS_TOKEN = "nexhina-reference-access-other"
ADMIN_ACCESS_TOKEN = "nexhina-reference-access-admin"
USER_ID, OTHER_ID, ADMIN_ID = 1, 2, 3
_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def new_key(length: int = 48) -> str:
    """A random key of ``length`` letters and digits (no ``sk-`` prefix, as new-api stores it)."""
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(length))


def bare_key(key: str) -> str:
    """The stored form of a relay key: without a ``sk-`` prefix."""
    return key[3:] if key.startswith("sk-") else key


@dataclass
class User:
    """A gateway account (the fields of the User schema the reference keeps)."""

    id: int
    username: str
    role: int
    access_token: str = field(repr=False)
    status: int = 1
    quota: int = 10_000_000
    used_quota: int = 0
    request_count: int = 0
    group: str = "default"
    display_name: str = ""

    def public(self) -> dict[str, Any]:
        """The User as answered (never its access token)."""
        shown = asdict(self)
        del shown["access_token"]
        return shown


@dataclass
class Token:
    """An API key with its quota, expiry and model limits."""

    id: int
    user_id: int
    key: str = field(repr=False)
    name: str
    status: int = TOKEN_ENABLED
    created_time: int = 0
    accessed_time: int = 0
    expired_time: int = -1
    remain_quota: int = 0
    unlimited_quota: bool = True
    model_limits_enabled: bool = False
    model_limits: str = ""
    used_quota: int = 0
    group: str = "default"

    def public(self, *, masked: bool = True) -> dict[str, Any]:
        """The Token as answered; lists and reads show the key masked, as new-api does."""
        shown = asdict(self)
        if masked:
            shown["key"] = self.key[:4] + "*" * 8 + self.key[-4:]
        return shown

    def state(self, now: float) -> int:
        """The token's effective status at ``now`` (expiry and exhaustion included)."""
        if self.status != TOKEN_ENABLED:
            return self.status
        if self.expired_time != -1 and self.expired_time <= now:
            return TOKEN_EXPIRED
        if not self.unlimited_quota and self.remain_quota <= 0:
            return TOKEN_EXHAUSTED
        return TOKEN_ENABLED

    def allows(self, model: str) -> bool:
        """Whether the token's model limits let it use ``model``."""
        if not self.model_limits_enabled:
            return True
        return model in {m.strip() for m in self.model_limits.split(",") if m.strip()}


@dataclass
class Log:
    """One record of a call (consume) or a top-up."""

    id: int
    user_id: int
    created_at: int
    type: int
    content: str
    username: str
    token_name: str = ""
    model_name: str = ""
    quota: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    use_time: int = 0
    is_stream: bool = False
    channel: int = 0
    token_id: int = 0
    group: str = "default"
    ip: str = ""
    request_id: str = ""
    other: str = "{}"


@dataclass
class Channel:
    """An upstream provider route."""

    id: int
    name: str
    type: int = 1
    key: str = field(default="", repr=False)
    status: int = 1
    base_url: str | None = None
    models: str = ""
    group: str = "default"
    created_time: int = 0
    test_time: int = 0
    response_time: int = 0
    used_quota: int = 0
    priority: int | None = 0
    weight: int | None = 0
    model_mapping: str | None = None

    def public(self) -> dict[str, Any]:
        """The Channel as answered (its upstream key hidden)."""
        shown = asdict(self)
        shown["key"] = ""
        return shown


@dataclass
class Redemption:
    """A top-up code."""

    id: int
    user_id: int
    key: str = field(repr=False)
    name: str
    quota: int
    status: int = CODE_ENABLED
    created_time: int = 0
    redeemed_time: int = 0
    used_user_id: int = 0
    expired_time: int = 0

    def public(self) -> dict[str, Any]:
        """The Redemption as answered."""
        return asdict(self)


class PlatformStore:
    """Users, tokens, logs, channels and codes of one reference gateway (thread-safe)."""

    def __init__(self, relay_key: str, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.users: dict[int, User] = {
            USER_ID: User(USER_ID, "nexhina-user", 1, USER_ACCESS_TOKEN),
            OTHER_ID: User(OTHER_ID, "nexhina-other", 1, OTHER_ACCESS_TOKEN),
            ADMIN_ID: User(ADMIN_ID, "nexhina-admin", 100, ADMIN_ACCESS_TOKEN),
        }
        self.tokens: dict[int, Token] = {}
        self.logs: list[Log] = []
        self.channels: dict[int, Channel] = {}
        self.codes: dict[int, Redemption] = {}
        self._next = {"token": 1, "log": 1, "channel": 1, "code": 1}
        now = int(clock())
        self.add_token(USER_ID, "nexhina-reference relay key", key=bare_key(relay_key), created=now)
        self.add_token(OTHER_ID, "nexhina-reference other user's key", key=new_key(), created=now)
        # One built-in channel and one disabled code, so that the admin lists are never empty.
        self.channels[1] = Channel(self._id("channel"), "reference built-in", models="ref-chat",
                                   created_time=now)
        self.codes[1] = Redemption(self._id("code"), ADMIN_ID, new_key(32), "reference seed", 100,
                                   status=2, created_time=now)

    def _id(self, kind: str) -> int:
        with self.lock:
            value = self._next[kind]
            self._next[kind] = value + 1
            return value

    def now(self) -> int:
        """The store clock in whole Unix seconds."""
        return int(self.clock())

    # ------------------------------------------------------------------ users

    def user_by_access_token(self, access_token: str) -> User | None:
        """The user whose management access token this is."""
        return next((u for u in self.users.values() if u.access_token == access_token), None)

    # ------------------------------------------------------------------ tokens

    def add_token(self, user_id: int, name: str, *, key: str | None = None, created: int | None = None,
                  **fields: Any) -> Token:
        """Create a token of ``user_id`` (a new random key unless one is given)."""
        with self.lock:
            token = Token(self._id("token"), user_id, key or new_key(), name,
                          created_time=created if created is not None else self.now(), **fields)
            self.tokens[token.id] = token
            return token

    def token_by_key(self, key: str) -> Token | None:
        """The token of a relay key (with or without ``sk-``)."""
        stored = bare_key(key)
        with self.lock:
            return next((t for t in self.tokens.values() if t.key == stored), None)

    def tokens_of(self, user_id: int) -> list[Token]:
        """The user's tokens, newest first (as new-api lists them)."""
        with self.lock:
            return sorted((t for t in self.tokens.values() if t.user_id == user_id), key=lambda t: -t.id)

    # ------------------------------------------------------------------ relay accounting

    def charge(self, token: Token, model: str, prompt: int, completion: int, request_id: str, *,
               log: bool = True, charge_token: bool = True, completion_shown: int | None = None,
               stream: bool = False) -> None:
        """Write the consume Log of one served call and charge its token and user.

        ``log``, ``charge_token`` and ``completion_shown`` exist for the reference's faults
        (a missing log, a used quota left unchanged, a log whose tokens differ from the answer's).
        """
        quota = prompt + completion
        with self.lock:
            user = self.users[token.user_id]
            if charge_token:
                token.used_quota += quota
            if not token.unlimited_quota:
                token.remain_quota = max(0, token.remain_quota - quota)
            token.accessed_time = self.now()
            user.used_quota += quota
            user.quota -= quota
            user.request_count += 1
            if log:
                shown = completion if completion_shown is None else completion_shown
                self.logs.append(Log(
                    self._id("log"), user.id, self.now(), LOG_CONSUME, "", user.username, token.name, model,
                    quota, prompt, shown, is_stream=stream, token_id=token.id, request_id=request_id))

    # ------------------------------------------------------------------ redemptions

    def redeem(self, user: User, key: str, *, twice: bool = False) -> int | None:
        """Spend a code for ``user``: the quota added, or None when the code cannot be used."""
        with self.lock:
            code = next((c for c in self.codes.values() if c.key == key), None)
            if code is None or (code.status != CODE_ENABLED and not twice):
                return None
            if code.expired_time and code.expired_time <= self.now():
                return None
            code.status, code.redeemed_time, code.used_user_id = CODE_USED, self.now(), user.id
            user.quota += code.quota
            self.logs.append(Log(self._id("log"), user.id, self.now(), LOG_TOPUP,
                                 f"redeemed code {code.id}", user.username, quota=code.quota))
            return code.quota

    def new_id(self, kind: str) -> int:
        """The next id of ``kind`` (``channel`` or ``code``)."""
        return self._id(kind)
