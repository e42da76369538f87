"""Plain data shared by every layer: levels, verdicts, violations, recorded exchanges.

This module owns the vocabulary of the suite and imports nothing of ours, so checks,
transport, the reference gateway, the plugin and the reports can all depend on it.
"""

from __future__ import annotations

import codecs
import enum
import hashlib
import json
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

REDACTED = "********"
#: Where a replayed upload lives, relative to the report directory (D31).
UPLOADS_DIR = "uploads"
#: Media types whose bodies are text even without a ``text/`` prefix.
_TEXT_TYPES = frozenset({
    "application/json", "application/xml", "application/x-www-form-urlencoded", "application/javascript",
    "application/problem+json", "application/x-ndjson", "application/yaml",
})
#: Characters that never reach a terminal or report: C0 controls other than tab, LF, CR; DEL; C1.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: How many leading bytes decide whether a body of no binary media type is binary.
_SAMPLE = 65536
_EXTENSIONS = {"audio/wav": ".wav", "audio/x-wav": ".wav", "audio/wave": ".wav", "audio/mpeg": ".mp3",
               "audio/flac": ".flac", "audio/ogg": ".ogg", "image/png": ".png", "image/jpeg": ".jpg",
               "image/webp": ".webp", "video/mp4": ".mp4", "text/plain": ".txt", "application/json": ".json"}


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


class ValueEnum(str, enum.Enum):
    """A ``str`` enum that prints, hashes and compares exactly like its plain value.

    Closed sets of values (exchange outcomes, profiles) are enums, while files and code that
    hold the plain strings keep working unchanged.
    """

    def __str__(self) -> str:
        return str(self.value)

    def __hash__(self) -> int:  # as the plain value's (Python 3.10 hashes the member's name)
        return str.__hash__(self)

    def __repr__(self) -> str:  # as the plain value's: outputs that show values stay unchanged
        return repr(self.value)


class ExchangeOutcome(ValueEnum):
    """How a response ended (``Exchange.outcome``); a ``str`` enum, equal to its plain value.

    ``complete``; ``deadline`` (the total bound cut it); ``stalled`` (read timeout mid-body);
    ``dropped`` (the connection closed early); ``oversize`` (the byte cap cut it);
    ``no-answer`` (no status line, even after the one retry); ``hung-up`` (the client closed
    a watched stream on purpose, `conformance.transport.StreamWatch`).
    """

    COMPLETE = "complete"
    DEADLINE = "deadline"
    STALLED = "stalled"
    DROPPED = "dropped"
    OVERSIZE = "oversize"
    NO_ANSWER = "no-answer"
    HUNG_UP = "hung-up"


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
    basis: str | None = None  # why a MUST is a MUST (D65, D71): client, billing, access, data, outcome, shape


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


def _decoder(errors: str = "strict") -> codecs.IncrementalDecoder:
    return codecs.getincrementaldecoder("utf-8")(errors)


def is_text_type(content_type: str) -> bool:
    """Whether a media type (parameters allowed) names a text format."""
    media = content_type.split(";")[0].strip().lower()
    return media.startswith("text/") or media in _TEXT_TYPES or media.endswith(("+json", "+xml"))


def is_binary(data: bytes, content_type: str = "") -> bool:
    """Whether a body must be shown as a placeholder: a non-text media type, or bytes that are
    not UTF-8 or carry control characters (a body with no content type is judged by its bytes)."""
    if not data:
        return False
    if content_type and not is_text_type(content_type):
        return True
    try:
        text = _decoder().decode(data[:_SAMPLE], final=len(data) <= _SAMPLE)
    except UnicodeDecodeError:
        return True
    return _CONTROL.search(text) is not None


def binary_placeholder(data: bytes, content_type: str = "") -> str:
    """``<binary N bytes, content-type, sha256 prefix>``: how a binary body is shown, everywhere."""
    media = content_type.split(";")[0].strip().lower() or "no content type"
    return f"<binary {len(data)} bytes, {media}, sha256 {hashlib.sha256(data).hexdigest()[:12]}>"


def printable(text: str) -> str:
    """The text with every control character (bar tab, LF, CR) shown as an escape, e.g. ``\\x00``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def text_head(data: bytes, limit: int) -> str:
    """The first ``limit`` characters of a UTF-8 body, printable, with a visible cut marker.

    Decodes only what it shows (a 50 MB body costs no more than a small one); bytes that are
    not UTF-8 after the inspected head are shown as U+FFFD.
    """
    head = _decoder("replace").decode(data[: limit * 4], final=len(data) <= limit * 4)
    if len(head) > limit or len(data) > limit * 4:
        return printable(head[:limit]) + f"...<{len(data)} bytes in all>"
    return printable(head)


@dataclass(frozen=True, slots=True)
class FormPart:
    """One part of a multipart/form-data request body."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str = ""

    @property
    def upload_path(self) -> str:
        """Where the replay expects this file, relative to the report directory (D31)."""
        digest = hashlib.sha256(self.data).hexdigest()[:16]
        extension = _EXTENSIONS.get(self.content_type.split(";")[0].strip().lower(), ".bin")
        return f"{UPLOADS_DIR}/{digest}{extension}"


def form_parts(body: bytes, content_type: str) -> list[FormPart] | None:
    """The parts of a multipart/form-data body, or None when it is not one (or cannot be parsed)."""
    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type:
        return None
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1")
                                                  + b"\r\n\r\n" + body)
    if not message.is_multipart():
        return None
    parts: list[FormPart] = []
    payloads = message.get_payload()
    if not isinstance(payloads, list):
        return None
    for part in payloads:
        if not isinstance(part, Message):
            return None
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            return None
        ctype = part.get("content-type") or ""
        parts.append(FormPart(name, payload, part.get_filename(), str(ctype) if ctype else ""))
    return parts


@dataclass(frozen=True, slots=True)
class Exchange:
    """One recorded request/response pair, credentials already redacted.

    ``outcome`` says how the response ended: one of `ExchangeOutcome` (``complete``,
    ``deadline``, ``stalled``, ``dropped``, ``oversize``, ``no-answer``; plain strings
    compare equal to the members). Malformed content that did
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
    outcome: str = ExchangeOutcome.COMPLETE.value
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

    @property
    def request_content_type(self) -> str:
        """The request's Content-Type header as sent (with its parameters), or ``""``."""
        for name, value in self.request_headers.items():
            if name.lower() == "content-type":
                return value
        return ""

    def uploads(self) -> list[tuple[str, bytes]]:
        """(path relative to the report directory, bytes) of every file the curl line names.

        A multipart request names each file part (``-F name=@path``); any other binary body
        is sent with ``--data-binary @path``. The plugin writes these files (D31).
        """
        body = self.request_body or b""
        parts = form_parts(body, self.request_content_type)
        if parts is not None:
            return [(p.upload_path, p.data) for p in parts if p.filename is not None or is_binary(p.data)]
        if is_binary(body, self.request_content_type):
            whole = FormPart("body", body, None, self.request_content_type)
            return [(whole.upload_path, body)]
        return []

    def curl(self) -> str:
        """A curl command line that replays this request (headers already redacted).

        Binary-safe: a multipart body becomes ``-F field=value`` / ``-F 'file=@uploads/...'``
        and any other binary body ``--data-binary @uploads/...``, paths relative to the report
        directory (run the line from there); no raw byte ever appears in the line (D31).
        """
        parts = ["curl", "-sS"]
        if self.sse is not None:
            parts.append("-N")
        parts += ["-X", self.method, shlex.quote(printable(self.url))]
        body = self.request_body or b""
        form = form_parts(body, self.request_content_type) if body else None
        for name, value in self.request_headers.items():
            lowered = name.lower()
            if lowered in {"content-length", "host", "accept-encoding", "connection", "user-agent"}:
                continue
            if lowered == "content-type" and form is not None:
                continue                     # curl -F writes its own boundary
            parts += ["-H", shlex.quote(printable(f"{name}: {value}"))]
        if form is not None:
            for part in form:
                arg = _form_arg(part)
                # A text value starting with @ or < would be read as a file name by -F.
                text_value = part.filename is None and not is_binary(part.data)
                flag = "--form-string" if text_value and part.data[:1] in (b"@", b"<") else "-F"
                parts += [flag, shlex.quote(arg)]
        elif body and is_binary(body, self.request_content_type):
            parts += ["--data-binary", shlex.quote("@" + FormPart("body", body, None,
                                                                  self.request_content_type).upload_path)]
        elif body:
            parts += ["--data-raw", shlex.quote(text_head(body, 4000))]
        return " ".join(parts)


def _form_arg(part: FormPart) -> str:
    """One ``-F`` argument: ``name=value`` for a text field, ``name=@path;type=...`` for a file."""
    if part.filename is None and not is_binary(part.data):
        return f"{part.name}={text_head(part.data, 4000)}"
    arg = f"{part.name}=@{part.upload_path}"
    if part.content_type:
        arg += f";type={part.content_type}"
    if part.filename:
        arg += f";filename={printable(part.filename)}"
    return arg


def truncate(value: object, limit: int = 200) -> str:
    """Render a value for a failure message, cut with a visible marker."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + f"...<{len(text) - limit} more chars>"
