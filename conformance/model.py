"""Plain data shared by every layer: levels, verdicts, violations, recorded exchanges.

This module owns the vocabulary of the suite and imports nothing of ours, so checks,
transport, the reference gateway, the plugin and the reports can all depend on it.
"""

from __future__ import annotations

import enum
import json
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

REDACTED = "********"


class Level(str, enum.Enum):
    """Normative level of a requirement: a MUST breaks the run, a SHOULD warns."""

    MUST = "MUST"
    SHOULD = "SHOULD"


class Verdict(str, enum.Enum):
    """Outcome of one requirement on one target; `rank` orders them for "the worst verdict wins"."""

    PASS = "PASS"
    NOT_SUPPORTED = "NOT_SUPPORTED"
    WARN = "WARN"
    ERROR = "ERROR"
    FAIL = "FAIL"

    @property
    def rank(self) -> int:
        """Severity order used to keep the worst verdict of several tests."""
        return _RANK[self]


# NOT_SUPPORTED ranks lowest: a requirement that one test could not exercise (its operation is
# not declared) but another test did exercise takes that test's verdict.
_RANK = {
    Verdict.NOT_SUPPORTED: 0,
    Verdict.PASS: 1,
    Verdict.WARN: 2,
    Verdict.ERROR: 3,
    Verdict.FAIL: 4,
}


@dataclass(frozen=True, slots=True)
class Requirement:
    """One normative statement of the catalogue (openapi/requirements.yaml)."""

    id: str
    level: Level
    feature: str
    profile: str
    text: str
    ref: tuple[str, ...]  # decision numbers ("D8") and/or JSON pointers into nexhina.yaml


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken requirement, as found by a pure check.

    Attributes:
        requirement: catalogue id, e.g. ``chat.stream.done-sentinel``.
        expected: what the requirement asks for, in a few words.
        actual: what was seen (the offending value, truncated).
        where: a JSON pointer (``/choices/0/index``) or an SSE position (``event[14]``).
    """

    requirement: str
    expected: str
    actual: str
    where: str | None = None


class Findings(list[Violation]):
    """The violations of one check and the requirement ids it judged (an earned PASS).

    A plain list of violations says only what failed; ``judged`` also says what was looked
    at, so a requirement that no check evaluated can never be reported PASS. The ids of the
    violations themselves always count as judged.
    """

    def __init__(self, violations: Iterable[Violation] = (), *, judged: Iterable[str] = ()) -> None:
        super().__init__(violations)
        self.judged: frozenset[str] = frozenset(judged) | {v.requirement for v in self}

    def __add__(self, other: list[Violation]) -> Findings:  # type: ignore[override]
        more = other.judged if isinstance(other, Findings) else ()
        return Findings([*self, *other], judged=self.judged | frozenset(more))


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched server-sent event, as the WHATWG algorithm builds it."""

    index: int
    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None
    raw: str = ""

    def json(self) -> Any:
        """Decode ``data`` as JSON (raises ``ValueError`` when it is not)."""
        return json.loads(self.data)


@dataclass(frozen=True, slots=True)
class SSEDiagnostic:
    """A framing problem found while reading a stream (strict in what it reports)."""

    kind: str
    detail: str
    event_index: int | None = None


@dataclass(frozen=True, slots=True)
class SSETranscript:
    """Every event of a stream plus the framing diagnostics and the raw text."""

    events: tuple[SSEEvent, ...]
    diagnostics: tuple[SSEDiagnostic, ...] = ()
    raw: bytes = b""


@dataclass(frozen=True, slots=True)
class Exchange:
    """One recorded request/response pair, credentials already redacted.

    ``outcome`` says how the response ended: ``complete``, ``deadline`` (the total
    bound cut it), ``stalled`` (read timeout mid-body), ``dropped`` (the connection
    closed early), ``oversize`` (the byte cap cut it). Malformed content that did
    arrive is kept in ``body``/``sse``; it is for checks to judge, not an error.
    """

    method: str
    url: str
    request_headers: Mapping[str, str]
    request_body: bytes | None
    status: int | None
    response_headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    sse: SSETranscript | None = None
    elapsed: float = 0.0
    outcome: str = "complete"
    retries_429: int = 0

    @property
    def content_type(self) -> str:
        """The media type of the response without parameters, lower-cased."""
        for name, value in self.response_headers.items():
            if name.lower() == "content-type":
                return value.split(";")[0].strip().lower()
        return ""

    def header(self, name: str) -> str | None:
        """A response header by case-insensitive name."""
        for key, value in self.response_headers.items():
            if key.lower() == name.lower():
                return value
        return None

    def json(self) -> Any:
        """Decode the response body as JSON (raises ``ValueError`` when it is not)."""
        return json.loads(self.body)

    def curl(self) -> str:
        """A curl command line that replays this request (headers already redacted)."""
        parts = ["curl", "-sS"]
        if self.sse is not None:
            parts.append("-N")
        parts += ["-X", self.method, shlex.quote(self.url)]
        for name, value in self.request_headers.items():
            if name.lower() in {"content-length", "host", "accept-encoding", "connection", "user-agent"}:
                continue
            parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.request_body:
            text = self.request_body.decode("utf-8", errors="replace")
            if len(text) > 4000:
                text = text[:4000] + "...<truncated>"
            parts += ["--data-raw", shlex.quote(text)]
        return " ".join(parts)


def truncate(value: object, limit: int = 200) -> str:
    """Render a value for a failure message, cut with a visible marker."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + f"...<{len(text) - limit} more chars>"
