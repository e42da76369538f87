"""Generated cases of the property suite: what each one is, what it costs, what goes on the wire.

Owns:

- :func:`case_kind`: a case's kind (``conformance.checks.properties.KINDS``) from its
  Schemathesis metadata, or None for a case not worth sending (only generated header values
  are invalid: the suite sends its own headers, so it would repeat a positive case);
- :func:`coverage_plan`: which coverage-phase cases an operation sends (every probe, and a
  small diverse sample of the positive and negative ones: the phase enumerates hundreds), and
  :func:`drop_unplanned`, which keeps Hypothesis from running the test for the others;
- :func:`cap_positive`: cost control of a positive case (the target's model, capped output
  tokens and counts, a tiny real audio file), applied only to cases known to be positive so
  negative cases stay negative;
- :func:`outgoing`: the request a case stands for, ready for the run's transport (the target's
  Authorization, never the generated one).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlencode

import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import CONTENT_TYPE_PROBES, CoverageScenario, TestPhase
from urllib3.filepost import encode_multipart_formdata

from conformance.checks.properties import (
    CONTENT_TYPE,
    MISSING_AUTH,
    NEGATIVE,
    POSITIVE,
    WRONG_METHOD,
    CaseKey,
    select_cases,
)
from conformance.config import Settings
from conformance.suites.operations import Operation, any_model
from conformance.suites.properties_schema import AnyCase
from conformance.suites.samples import tiny_wav

#: Positive requests per operation whose every answer is costly on a real target.
EXPENSIVE_POSITIVE_CAP: Mapping[str, int] = {"createImage": 2, "createVideo": 1}
#: Longest speech input a positive case sends (speech is billed per character).
SPEECH_INPUT_CAP = 64
#: Most choices / images / videos a positive case asks for.
COUNT_CAP = {"createChatCompletion": 2, "createImage": 1, "createVideo": 1}
#: Coverage families sampled first (most telling per request); the others follow in phase order.
#: Positive families are named by the kind of value ("Maximum value"), negative ones by scenario.
SCENARIO_PRIORITY: tuple[str, ...] = (
    "Maximum value",
    "Minimum value",
    CoverageScenario.OBJECT_MISSING_REQUIRED_PROPERTY,
    CoverageScenario.INCORRECT_TYPE,
    CoverageScenario.INVALID_ENUM_VALUE,
    CoverageScenario.VALUE_ABOVE_MAXIMUM,
    CoverageScenario.VALUE_BELOW_MINIMUM,
    CoverageScenario.MISSING_PARAMETER,
)


def case_kind(case: AnyCase) -> str | None:
    """The kind of a generated case, or None when it is not worth sending."""
    meta = case.meta
    if meta is None:
        return POSITIVE
    data = meta.phase.data
    scenario = getattr(data, "scenario", None)
    if scenario == CoverageScenario.UNSPECIFIED_HTTP_METHOD:
        return WRONG_METHOD
    if scenario in CONTENT_TYPE_PROBES:
        return CONTENT_TYPE
    if (
        scenario == CoverageScenario.MISSING_PARAMETER
        and getattr(data, "parameter_location", None) == ParameterLocation.HEADER
        and str(getattr(data, "parameter", "")).lower() == "authorization"
    ):
        return MISSING_AUTH
    if any(meta.is_negative_at(loc) for loc in (ParameterLocation.BODY, ParameterLocation.PATH)):
        return NEGATIVE
    if meta.generation.mode.is_negative:
        return None  # only generated headers/query are invalid: the suite replaces them
    return POSITIVE


_TOP_LEVEL_MISSING = "Missing required property: "


def _family(case: AnyCase, kind: str) -> tuple[str, str]:
    """(family, detail) of a coverage case, and its description.

    A positive case's family is the kind of value it tries (``Maximum value`` of whichever
    field: boundaries find the most bugs per request); a negative case's is its scenario, per
    field for a missing top-level required field (the likeliest defect to crash a server).
    """
    data = case.meta.phase.data if case.meta is not None else None
    scenario = str(getattr(data, "scenario", "") or "")
    description = str(getattr(data, "description", "") or "")
    if kind == POSITIVE and ": " in description:
        return description.rsplit(": ", 1)[1], description
    if description.startswith(_TOP_LEVEL_MISSING):
        return f"{scenario}:{description.removeprefix(_TOP_LEVEL_MISSING)}", description
    return scenario, description


def coverage_plan(cases: Sequence[AnyCase], *, quota: int, seed: int) -> frozenset[str]:
    """The ids of the coverage cases to send, out of the phase's whole list.

    Probes (missing Authorization, undocumented method, wrong Content-Type) are always sent;
    up to ``quota`` positive and ``2 * quota`` negative cases (refused before any inference on
    a sound target, so cheap), one scenario after another (so a small quota still covers each
    missing required field, wrong types, enums and ranges). Within a scenario the order is
    shuffled by ``seed``: another seed samples other fields.
    """
    keys: list[CaseKey] = []
    ids: list[str] = []
    for case in cases:
        kind = case_kind(case)
        if kind is None:
            continue
        group = {POSITIVE: "positive", NEGATIVE: "negative"}.get(kind, "probe")
        family, detail = _family(case, kind)
        keys.append(CaseKey(index=len(ids), group=group, family=family, detail=detail))
        ids.append(case.id)
    order = sorted(keys, key=lambda k: (k.group, k.family, _shuffle(seed, k)))
    chosen = select_cases(_by_first_seen(order, keys), positive=quota, negative=2 * quota)
    return frozenset(ids[i] for i in chosen)


def _shuffle(seed: int, key: CaseKey) -> int:
    return zlib.crc32(f"{seed}:{key.detail}:{key.index}".encode())


def _by_first_seen(shuffled: Iterable[CaseKey], original: Sequence[CaseKey]) -> list[CaseKey]:
    """Families by priority then phase order, each family's cases in shuffled order."""
    first_seen: dict[tuple[str, str], int] = {}
    for key in original:
        first_seen.setdefault((key.group, key.family), key.index)

    def rank(key: CaseKey) -> tuple[int, int]:
        scenario = key.family.split(":", 1)[0]
        known = scenario in SCENARIO_PRIORITY
        priority = SCENARIO_PRIORITY.index(scenario) if known else len(SCENARIO_PRIORITY)
        return priority, first_seen[(key.group, key.family)]

    return sorted(shuffled, key=rank)


def explicit_cases(func: Any) -> list[AnyCase]:
    """The explicit (examples and coverage) cases Schemathesis attached to a test function."""
    examples = getattr(func, "hypothesis_explicit_examples", None) or []
    found = [getattr(e, "kwargs", {}).get("case") for e in examples]
    # Hypothesis runs explicit examples in reverse order of attachment.
    return [c for c in reversed(found) if isinstance(c, schemathesis.Case)]


def drop_unplanned(func: Any, plan: frozenset[str]) -> list[AnyCase]:
    """Take the coverage cases outside ``plan`` off a test function's explicit examples; return them.

    They would be skipped unsent anyway (`PropertyRun` sends only the plan's coverage cases), but
    Hypothesis would still run the test once for each: most of the hundreds the phase enumerates.
    """
    examples = getattr(func, "hypothesis_explicit_examples", None)
    if not isinstance(examples, list):
        return []
    kept: list[Any] = []
    dropped: list[AnyCase] = []
    for example in examples:
        case = getattr(example, "kwargs", {}).get("case")
        if isinstance(case, schemathesis.Case) and is_coverage(case) and case.id not in plan:
            dropped.append(case)
        else:
            kept.append(example)
    examples[:] = kept
    return dropped


def is_coverage(case: AnyCase) -> bool:
    """True for a case of the coverage phase."""
    return case.meta is not None and case.meta.phase.name == TestPhase.COVERAGE


def is_explicit(case: AnyCase) -> bool:
    """True for a case of the examples or coverage phase (not drawn by the fuzzer)."""
    return case.meta is not None and case.meta.phase.name in (TestPhase.COVERAGE, TestPhase.EXAMPLES)


# --------------------------------------------------------------------------- cost control


def cap_positive(
    case: AnyCase, op: Operation, models: Mapping[str, str], settings: Settings
) -> None:
    """Make a positive case cheap without making it invalid (in place).

    The configured model of the operation's capability, output tokens capped at
    ``budgets.max_tokens`` (the Responses API needs at least 16), at most two choices and one
    image or video, a short speech input, a tiny real WAV for uploads, no ``stream: true`` when
    the target does not declare the operation's streaming feature. Examples and coverage
    cases of GET /models/{model} retrieve a declared model (so the 200 shape is exercised);
    fuzzed ones keep their random id (so the 404 envelope is).
    """
    if op.operation_id == "retrieveModel" and is_explicit(case) and models:
        case.path_parameters = {**(case.path_parameters or {}), "model": any_model(models)}
    if not isinstance(case.body, dict):
        return
    body = cast(dict[str, Any], case.body)
    model = models.get(op.capability or "")
    if model:
        body["model"] = model
    tokens = settings.budgets.max_tokens
    if op.operation_id == "createChatCompletion":
        _cap_chat(body, tokens)
        _no_stream_unless(body, "chat.streaming", settings)
    elif op.operation_id == "createResponse":
        body["max_output_tokens"] = max(16, tokens)
        _no_stream_unless(body, "responses.streaming", settings)
    elif op.operation_id == "createSpeech" and isinstance(body.get("input"), str):
        body["input"] = body["input"][:SPEECH_INPUT_CAP] or "OK."
    elif op.body == "multipart" and "file" in body:
        body["file"] = tiny_wav()
    if isinstance(body.get("n"), int) and op.operation_id in COUNT_CAP:
        body["n"] = min(body["n"], COUNT_CAP[op.operation_id])
    if op.operation_id == "createVideo" and isinstance(body.get("duration"), (int, float)):
        body["duration"] = min(body["duration"], 1)


#: operationId -> the feature that lets a positive case ask for a stream.
STREAM_FEATURES: Mapping[str, str] = {"createChatCompletion": "chat.streaming",
                                      "createResponse": "responses.streaming"}


def prefer_stream(case: AnyCase, op: Operation, settings: Settings) -> None:
    """Ask for a stream when the case leaves ``stream`` unset and the target declares streaming."""
    feature = STREAM_FEATURES.get(op.operation_id)
    if feature is None or feature not in settings.features or not isinstance(case.body, dict):
        return
    if case.body.get("stream") is None:
        case.body["stream"] = True


def _no_stream_unless(body: dict[str, Any], feature: str, settings: Settings) -> None:
    """A target that does not declare streaming gets plain requests only."""
    if feature not in settings.features and body.get("stream") is True:
        body["stream"] = False
        body.pop("stream_options", None)


def _cap_chat(body: dict[str, Any], tokens: int) -> None:
    for name in ("max_tokens", "max_completion_tokens"):
        if isinstance(body.get(name), int):
            body[name] = min(body[name], tokens)
    if body.get("max_tokens") is None and body.get("max_completion_tokens") is None:
        body["max_tokens"] = tokens


# --------------------------------------------------------------------------- the wire


@dataclass(frozen=True)
class Outgoing:
    """One request for the run's transport, built from a case.

    ``json_body`` is the JSON value to send when ``has_json``; ``content`` (raw bytes, multipart
    bodies included) and ``data`` (a urlencoded form) are the other body forms (httpx style).
    ``stream`` says to read it as a stream.
    """

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    has_json: bool = False
    json_body: Any = None
    content: bytes | None = None
    data: dict[str, Any] | None = None
    stream: bool = False

    @property
    def body_absent(self) -> bool:
        """True when no body at all goes out."""
        return not self.has_json and self.content is None and not self.data

    def fingerprint(self) -> bytes:
        """What goes out, canonically (a multipart boundary, random per process, left out):
        the same case gives the same fingerprint in any process (D34)."""
        boundary = ""
        for name, value in self.headers.items():
            if name.lower() == "content-type" and "boundary=" in value:
                boundary = value.split("boundary=", 1)[1].split(";")[0].strip().strip('"')
        content = self.content or b""
        if not boundary and content.startswith(b"--"):      # multipart sent under another Content-Type
            boundary = content.split(b"\r\n", 1)[0][2:].decode("latin-1")
        if boundary:
            content = content.replace(boundary.encode("latin-1"), b"BOUNDARY")
        headers = sorted((k.lower(), v.replace(boundary, "BOUNDARY") if boundary else v)
                         for k, v in self.headers.items())
        head = json.dumps([self.method, self.path, headers, self.has_json, self.stream, self.data],
                          sort_keys=True, default=str)
        body = json.dumps(self.json_body, sort_keys=True, default=str) if self.has_json else ""
        return b"\0".join([head.encode(), body.encode(), content])


def outgoing(case: AnyCase, base_url: str) -> Outgoing:
    """The request ``case`` stands for, relative to ``base_url``.

    Generated headers are dropped except Content-Type (the coverage phase's Content-Type
    probes set it on purpose); the transport adds the target's Authorization.
    """
    kwargs = case.as_transport_kwargs(base_url=base_url)
    url = str(kwargs["url"])
    if not url.startswith(base_url):
        raise ValueError(f"case URL {url!r} is not under the base URL {base_url!r}")
    path = url[len(base_url):] or "/"
    params = kwargs.get("params") or {}
    if params:
        path += "?" + urlencode(params, doseq=True)
    headers = {k: str(v) for k, v in (kwargs.get("headers") or {}).items() if k.lower() == "content-type"}
    method = str(kwargs["method"])
    if "json" in kwargs:
        body = kwargs["json"]
        streamed = isinstance(body, dict) and body.get("stream") is True
        return Outgoing(method, path, headers, has_json=True, json_body=body, stream=streamed)
    if kwargs.get("files") is not None:
        content, content_type = _multipart(kwargs["files"], kwargs.get("data"))
        # A Content-Type the case sets on purpose (a probe) wins over the multipart one.
        headers = headers or {"Content-Type": content_type}
        return Outgoing(method, path, headers, content=content)
    raw = kwargs.get("data")
    if isinstance(raw, (bytes, str)):
        return Outgoing(method, path, headers, content=raw.encode("utf-8") if isinstance(raw, str) else raw)
    if isinstance(raw, Mapping):
        return Outgoing(method, path, headers, data={str(k): _text(v) for k, v in raw.items()})
    return Outgoing(method, path, headers)


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _multipart(parts: Iterable[Any], extra: Any) -> tuple[bytes, str]:
    """requests-style multipart parts -> (body, Content-Type), always multipart/form-data.

    Encoded here rather than by httpx, which would send a form without file parts (a case
    missing its required file) as application/x-www-form-urlencoded.
    """
    fields: list[tuple[str, Any]] = []
    for name, spec in parts:
        filename, value = spec[0], spec[1]
        if filename is None:
            fields.append((str(name), _text(value)))
            continue
        content = value if isinstance(value, bytes) else _text(value).encode("utf-8")
        ctype = spec[2] if len(spec) > 2 and spec[2] else "application/octet-stream"
        fields.append((str(name), (str(filename), content, str(ctype))))
    if isinstance(extra, Mapping):
        fields += [(str(k), _text(v)) for k, v in extra.items()]
    body, content_type = encode_multipart_formdata(fields)
    return body, content_type
