"""Retry policies: the 429 backoff (``Retry-After``) and which request may be replayed after no answer (D30)."""

from __future__ import annotations

import json as jsonlib
import math
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

_BACKOFF_WITHOUT_HEADER = 0.5   # first wait when a 429 carries no usable Retry-After; doubles
#: Methods that never create or cost anything (RFC 9110 safe methods): replayable (D30).
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def retry_delay(retry_after: str | None, attempt: int, *, cap: float, now: datetime | None = None) -> float:
    """Seconds to wait before retrying a 429, from its ``Retry-After`` (seconds or HTTP date).

    Without a usable header the wait backs off from 0.5 s, doubling per attempt. The result is
    always within ``[0, cap]``.
    """
    seconds: float | None = None
    if retry_after and retry_after.strip():
        text = retry_after.strip()
        try:
            seconds = float(text)
        except ValueError:
            try:
                when = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=timezone.utc)
                seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if seconds is None or math.isnan(seconds):
        seconds = _BACKOFF_WITHOUT_HEADER * (2 ** attempt)
    return max(0.0, min(seconds, cap))


def replay_safe(method: str, body: Mapping[str, Any]) -> bool:
    """Whether a request that got no answer may be sent once more (D30).

    True for a safe method (GET, HEAD, OPTIONS) and for a raw body that is not JSON (no server
    can execute it: it must be refused). A JSON, form or multipart body may create something
    or cost money: never replayed.
    """
    if method.upper() in _SAFE_METHODS:
        return True
    if any(body.get(name) is not None for name in ("json", "data", "files")):
        return False
    content = body.get("content")
    if content is None:
        return False
    try:
        jsonlib.loads(content)
    except ValueError:
        return True                            # JSONDecodeError and UnicodeDecodeError
    return False


#: Exchange outcomes that count as "no usable answer" for a breaker: deadline, stall, and a
