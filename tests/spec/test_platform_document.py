"""openapi/nexhina-platform.yaml: valid OpenAPI 3.1, its references resolve, it covers the five objects."""

from __future__ import annotations

from typing import Any

import yaml
from openapi_spec_validator import validate as validate_openapi

from conformance import spec

PLATFORM = spec.openapi_dir() / "nexhina-platform.yaml"


def _document() -> Any:
    return yaml.safe_load(PLATFORM.read_text(encoding="utf-8"))


def test_platform_document_is_valid_openapi_3_1() -> None:
    validate_openapi(_document(), base_uri=PLATFORM.resolve().as_uri())


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_shared_schemas_come_from_the_relay_spec() -> None:
    external = {r for r in _refs(_document()) if not r.startswith("#")}
    names = {r.rsplit("/", 1)[1] for r in external}
    assert names == {"Token", "Log", "User", "Channel", "Redemption"}
    assert all(r.startswith("./nexhina.yaml#/components/schemas/") for r in external)
    assert names <= spec.schema_names()


def test_every_operation_has_an_id_and_an_auth_failure() -> None:
    for path, item in _document()["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            assert op.get("operationId"), f"{method} {path}"
            assert "401" in op["responses"], f"{method} {path}"


def test_the_property_phase_never_reaches_management_operations() -> None:
    # Schemathesis is built from nexhina.yaml alone: no management path, hence no management write.
    paths = [path for _, path, _ in spec.operations()]
    assert "/models" in paths and [p for p in paths if p.startswith("/api/")] == []
