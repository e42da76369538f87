"""The fault catalogue of the reference gateway: every named fault and what it does.

Owns ``HTTP_FAULTS`` (the faults of the HTTP layer: auth, errors, models), ``catalogue()``
(those plus the ``FAULTS`` of every engine module) and ``parse_faults()``. A fault is named
after the requirement id it breaks, optionally with ``@variant``; where a fault cannot avoid
touching a second requirement its description says so.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable

from conformance.errors import ConfigError
from conformance.reference.faultset import FaultSet

#: Engine modules (under conformance.reference.engines) whose FAULTS join the catalogue.
ENGINE_MODULES: tuple[str, ...] = (
    "chat",
    "responses",
    "embeddings",
    "images",
    "speech",
    "transcription",
    "video",
    "moderation",
    "rerank",
    "assets",
)
#: Other reference modules (outside the engines) whose FAULTS join the catalogue.
OTHER_MODULES: tuple[str, ...] = ("conformance.reference.relay",)

HTTP_FAULTS: dict[str, str] = {
    "auth.valid-key": (
        "the valid key gets 403 on GET /video/generations/{task_id} for a task it did not create"
        " (also breaks video.unknown-task-404)"
    ),
    "auth.missing-key": "a request without an Authorization header is served as if it had the valid key",
    "auth.malformed-header": "a malformed Authorization header (Basic, empty Bearer, key with whitespace) gets 400",
    "auth.unknown-key": "an unknown key gets 403 (with the envelope) instead of 401",
    "auth.unknown-key@500": "an unknown key gets 500 (also breaks errors.no-5xx-for-client-error)",
    "auth.unknown-key-code": "the 401 for an unknown key carries code null",
    "auth.key-not-echoed": "the 401 for an unknown key repeats the key in full in its message",
    "auth.disabled-key": "a disabled key is served",
    "auth.expired-key": "an expired key is served",
    "auth.exhausted-key": "a key with exhausted quota is served",
    "auth.exhausted-key-code": "the 429 for exhausted quota carries code 'quota_exceeded'",
    "auth.model-restricted": "a model-restricted key may use the model it is not allowed",
    "errors.envelope-shape": '400 error bodies are {"error": "<message>"} (a string, not an object)',
    "errors.envelope-content-type": (
        "400 error bodies are sent as text/plain (an undocumented type: breaks errors.documented-content-type too)"
    ),
    "errors.envelope-fields-present": "400 error objects omit the param and code keys",
    "errors.no-error-in-2xx": (
        "chat: an unknown model gets 200 with the error envelope (also breaks errors.unknown-model-rejected)"
    ),
    "errors.no-5xx-for-client-error": "malformed JSON gets 500 (also breaks errors.malformed-json)",
    "errors.no-server-error": (
        "a valid request with temperature above 1 gets 500 (only the property suite sends one)"
    ),
    "errors.documented-content-type": "GET /models and GET /models/{model} answer JSON labelled text/html",
    "errors.malformed-json": "malformed JSON gets 422 (with the envelope)",
    "errors.malformed-json@reset": "malformed JSON: the connection is closed without any answer, every time",
    "errors.missing-required-field": "chat: a missing required field gets 422 (with the envelope)",
    "errors.missing-required-field@422": (
        'chat: a missing required field gets 422 with a FastAPI-style {"detail": [...]}'
        " (also breaks errors.envelope-shape)"
    ),
    "errors.wrong-type": "chat: a field of the wrong type gets 422 (with the envelope)",
    "errors.wrong-type@422": (
        'chat: a field of the wrong type gets 422 with a FastAPI-style {"detail": [...]}'
        " (also breaks errors.envelope-shape)"
    ),
    "errors.out-of-range": "chat: a number outside its documented range gets 422 (with the envelope)",
    "errors.unknown-enum-value": "chat: a value outside a documented enum gets 422 (with the envelope)",
    "errors.unknown-model-rejected": (
        "an unknown model is served by the endpoint's own model (200; the SHOULDs 404 and code warn too)"
    ),
    "errors.unknown-model-404": "an unknown model gets 400 (code model_not_found)",
    "errors.unknown-model-code": "the error for an unknown model carries code null",
    "errors.unknown-path": "an unknown path gets 400 (with the envelope)",
    "errors.unknown-path@html": (
        "an unknown path gets 404 with an HTML body (also breaks errors.envelope-shape and -content-type)"
    ),
    "errors.wrong-method": "a wrong method on a known path gets 200 with {} (the SHOULD 405 warns too)",
    "errors.wrong-method-405": "a wrong method on a known path gets 404 (with the envelope) instead of 405",
    "errors.wrong-content-type": "JSON endpoints parse the body as JSON whatever its Content-Type",
    "errors.unknown-field-ignored": "an unknown top-level request field gets 400",
    "errors.body-too-large": "no body limit: a body of any size is accepted",
    "errors.rate-limited": "the rate-limited key is never limited",
    "errors.rate-limit-retry-after": "the 429 for rate limiting carries no Retry-After header",
    "errors.rate-limit-recovers": "once limited, the rate-limited key stays limited",
    "models.list.shape": "GET /models answers data as an object keyed by model id instead of an array",
    "models.list.object": "GET /models answers object 'models' instead of 'list'",
    "models.list.model-shape": (
        "listed models carry created as an ISO date string (the ModelList schema check, models.list.shape, fails too)"
    ),
    "models.list.declared-models": "GET /models leaves out ref-rerank",
    "models.retrieve.shape": 'GET /models/{model} wraps the Model in {"data": ...}',
    "models.retrieve.shape@unrouted": (
        "GET /models/{model} is not routed: 404 with the envelope for any key, before authentication (D27)"
    ),
    "models.retrieve.unknown-404": "GET /models/{model} invents a Model for any unknown id (200)",
    "models.retrieve.unknown-404@200-error": (
        "GET /models/{model} answers an unknown id with 200 and the error envelope, as new-api does"
        " (also breaks errors.no-error-in-2xx)"
    ),
}


def catalogue() -> dict[str, str]:
    """Every fault of the reference (HTTP layer and engines), sorted by name.

    Raises:
        ImportError: an engine module is missing (a broken install, never hidden).
        ValueError: two modules define the same fault name.
    """
    from conformance.reference.platform_api import PLATFORM_FAULTS

    merged = dict(HTTP_FAULTS)
    merged.update(PLATFORM_FAULTS)
    for name in ENGINE_MODULES:
        module = importlib.import_module(f"conformance.reference.engines.{name}")
        faults: dict[str, str] = module.FAULTS
        clash = merged.keys() & faults.keys()
        if clash:
            raise ValueError(f"fault names defined twice (engines.{name}): {sorted(clash)}")
        merged.update(faults)
    for path in OTHER_MODULES:
        faults = importlib.import_module(path).FAULTS
        clash = merged.keys() & faults.keys()
        if clash:
            raise ValueError(f"fault names defined twice ({path}): {sorted(clash)}")
        merged.update(faults)
    return dict(sorted(merged.items()))


def all_faults() -> dict[str, str]:
    """The catalogue plus the hostile wire faults (``conformance.reference.wire``), sorted by name."""
    from conformance.reference.wire import HOSTILE_FAULTS

    return dict(sorted({**catalogue(), **HOSTILE_FAULTS}.items()))


def parse_faults(names: Iterable[str], *, known: Iterable[str] | None = None) -> FaultSet:
    """The FaultSet of ``names``; each item may also join several names with '+' or ','.

    Args:
        names: fault names, e.g. from ``--fault`` options or a ``/fault/<a>+<b>/v1`` URL.
        known: the valid names (default: `all_faults`, the catalogue and the hostile faults).

    Raises:
        ConfigError: a name is not in the catalogue (with close matches as a hint).
    """
    valid = set(all_faults() if known is None else known)
    chosen: set[str] = set()
    for item in names:
        for name in item.replace(",", "+").split("+"):
            name = name.strip()
            if not name:
                continue
            if name not in valid:
                raise ConfigError(_unknown_fault_message(name, valid))
            chosen.add(name)
    return FaultSet(frozenset(chosen))


def _unknown_fault_message(name: str, valid: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(valid), n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown fault {name!r}.{hint} See `nexhina-conformance list faults` for the catalogue."
