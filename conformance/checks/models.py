"""Checks for GET /models and GET /models/{model} (SPEC-DECISIONS §16), plus the JSON-body check.

Owns: models.list.*, models.retrieve.shape. ``check_json_body`` is shared by every endpoint
suite (a 2xx JSON operation whose body does not parse fails that operation's schema
requirement); it lives here until the package grows a common checks module.
Imports only conformance.model and conformance.spec; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from conformance import spec
from conformance.checks._common import misses_object
from conformance.checks._judged import judges
from conformance.model import Exchange, Findings, Violation, truncate

# Schema errors inside one listed model belong to models.list.model-shape, not to the list shape.
_MODEL_ITEM = re.compile(r"^/data/\d+(/|$)")


@judges(param="requirement")
def check_json_body(exchange: Exchange, *, requirement: str) -> list[Violation]:
    """The response body parses as JSON (reported under the operation's schema requirement).

    Args:
        exchange: the recorded exchange.
        requirement: the id of the operation's schema requirement, e.g. ``embeddings.schema``.
    """
    try:
        exchange.json()
    except ValueError:
        text = exchange.body.decode("utf-8", errors="replace")
        return [Violation(requirement, "a JSON body", truncate(text) if text else "<empty body>", "/")]
    return []


@judges("models.list.shape", "models.list.model-shape", "models.list.object")
def check_model_list(body: Any) -> list[Violation]:
    """``{"object": "list", "data": [Model, ...]}``; errors inside an item are model-shape, a
    wrong ``object`` is its own SHOULD (no client reads it, D71)."""
    found = []
    for v in spec.validate(body, "ModelList", requirement="models.list.shape"):
        if _MODEL_ITEM.match(v.where or ""):
            v = Violation("models.list.model-shape", v.expected, v.actual, v.where)
        elif v.where == "/object" or misses_object(v):
            v = Violation("models.list.object", v.expected, v.actual, v.where)
        found.append(v)
    return found


def listed_ids(body: Any) -> list[str]:
    """The string ids of the listed models (malformed entries skipped)."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        return []
    return [m["id"] for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]


@judges("models.list.declared-models")
def check_declared_models_listed(body: Any, declared: Mapping[str, str]) -> list[Violation]:
    """Every model the target declares (capability -> model id) is in the list; not judged when
    the answer has no ``data`` array to look in (one deviation, one FAIL: the shape's).

    Args:
        body: the parsed GET /models answer.
        declared: capability -> model id, only for capabilities the target declares.
    """
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return Findings()  # no list to look in: models.list.shape reports it, nothing here is judged
    listed = set(listed_ids(body))
    return [
        Violation(
            "models.list.declared-models",
            f"model {model!r} (declared for {capability}) listed",
            truncate(sorted(listed)),
            "/data",
        )
        for capability, model in sorted(declared.items())
        if model not in listed
    ]


@judges("models.retrieve.shape")
def check_model_retrieved(body: Any, model_id: str) -> list[Violation]:
    """GET /models/{model} returns a Model whose id is the one asked for."""
    found = spec.validate(body, "Model", requirement="models.retrieve.shape")
    actual = body.get("id") if isinstance(body, dict) else None
    if isinstance(body, dict) and actual != model_id:
        found.append(Violation("models.retrieve.shape", f"id {model_id!r}", truncate(actual), "/id"))
    return found
