"""The requirement catalogue: its schema, its content, the Catalogue API and malformed files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from conformance import requirements, spec
from conformance.errors import CatalogueError
from conformance.model import Level

ID_PATTERN = re.compile(r"^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$")


def _raw() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(requirements.catalogue_path().read_text(encoding="utf-8"))
    return document


def _entry(**overrides: Any) -> dict[str, Any]:
    entry = {"id": "chat.sample", "level": "MUST", "feature": "chat", "profile": "core",
             "text": "A sample MUST hold.", "ref": ["D5"], "basis": "data"}
    return {**entry, **overrides}


def _write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "requirements.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_schema_is_valid_draft_2020_12() -> None:
    schema = json.loads((spec.openapi_dir() / requirements.SCHEMA_FILE).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"].endswith("2020-12/schema")


def test_catalogue_validates_against_its_schema() -> None:
    schema = json.loads((spec.openapi_dir() / requirements.SCHEMA_FILE).read_text(encoding="utf-8"))
    assert [e.message for e in Draft202012Validator(schema).iter_errors(_raw())] == []


def test_ids_unique_and_well_formed() -> None:
    ids = [entry["id"] for entry in _raw()["requirements"]]
    assert len(ids) == len(set(ids))
    assert [i for i in ids if not ID_PATTERN.fullmatch(i)] == []


def test_every_ref_points_at_something() -> None:
    assert requirements.unresolved_refs(requirements.load_catalogue(), spec.load_spec()) == []


def test_unresolved_refs_are_reported(tmp_path: Path) -> None:
    document = {"version": 1, "requirements": [_entry(ref=["D99", "#/components/schemas/Nope", "D8", "D24"])]}
    catalogue = requirements.load_catalogue(_write(tmp_path, document))
    assert requirements.unresolved_refs(catalogue, spec.load_spec()) == [
        "chat.sample: D99 is not a known decision",
        "chat.sample: #/components/schemas/Nope does not resolve in the OpenAPI document",
    ]


def test_catalogue_api() -> None:
    catalogue = requirements.load_catalogue()
    raw = _raw()["requirements"]
    assert catalogue.ids() == [e["id"] for e in raw]
    assert [r.id for r in catalogue] == catalogue.ids()
    assert len(catalogue) == len(raw) and catalogue.version == 1
    done = catalogue["chat.stream.done-sentinel"]
    assert (done.level, done.feature, done.profile) == (Level.MUST, "chat.streaming", "core")
    assert done.ref == ("D8",)
    assert catalogue.refs("auth.missing-key") == ("D3", "#/components/securitySchemes/bearerAuth")
    assert "chat.stream.done-sentinel" in catalogue and "chat.nope" not in catalogue and 3 not in catalogue
    assert catalogue.area("chat.stream.done-sentinel") == "chat"
    assert catalogue.features() == frozenset(e["feature"] for e in raw)


def test_profiles() -> None:
    catalogue = requirements.load_catalogue()
    core = catalogue.for_profile("core")
    assert core and all(r.profile == "core" for r in core)
    assert catalogue.for_profile("full") == list(catalogue)
    with pytest.raises(CatalogueError, match="unknown profile"):
        catalogue.for_profile("gold")


def test_unknown_id_raises() -> None:
    catalogue = requirements.load_catalogue()
    with pytest.raises(CatalogueError, match="chat.nope"):
        catalogue["chat.nope"]
    with pytest.raises(CatalogueError):
        catalogue.area("chat.nope")


def test_default_catalogue_is_cached_and_frozen() -> None:
    catalogue = requirements.load_catalogue()
    assert requirements.load_catalogue() is catalogue
    with pytest.raises(AttributeError):
        catalogue.version = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (_entry(level="MAY"), "'MAY' is not one of"),
        (_entry(id="Chat.Sample"), "does not match"),
        (_entry(id="chat"), "does not match"),
        (_entry(profile="gold"), "'gold' is not one of"),
        (_entry(text="A sample holds."), "does not match"),
        (_entry(level="SHOULD"), "does not match"),
        (_entry(ref=[]), "should be non-empty"),
        (_entry(ref=["section 5"]), "is not valid under any"),
        (_entry(extra="x"), "Additional properties"),
        ({k: v for k, v in _entry().items() if k != "feature"}, "'feature' is a required property"),
        ({k: v for k, v in _entry().items() if k != "basis"}, "'basis' is a required property"),
        (_entry(basis="pedantry"), "'pedantry' is not one of"),
        (_entry(level="SHOULD", text="A sample SHOULD hold."), "should not be valid"),
    ],
)
def test_malformed_entries_name_the_entry(tmp_path: Path, entry: dict[str, Any], message: str) -> None:
    document = {"version": 1, "requirements": [_entry(id="chat.first"), entry]}
    with pytest.raises(CatalogueError, match=r"requirements\[1\]") as caught:
        requirements.load_catalogue(_write(tmp_path, document))
    assert message in str(caught.value)


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    document = {"version": 1, "requirements": [_entry(), _entry(text="Another MUST.")]}
    with pytest.raises(CatalogueError, match=r"requirements\[1\]: duplicate id 'chat.sample'"):
        requirements.load_catalogue(_write(tmp_path, document))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("version: 1\nrequirements: [", "not valid YAML"),
        ("version: one\nrequirements: []\n", "malformed"),
        ("requirements: []\nextra: 1\n", "malformed"),
    ],
)
def test_malformed_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "requirements.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CatalogueError, match=message):
        requirements.load_catalogue(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read"):
        requirements.load_catalogue(tmp_path / "absent.yaml")
