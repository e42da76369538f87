"""The fault catalogue: names, descriptions, parsing."""

from __future__ import annotations

import pytest
import yaml

from conformance import spec
from conformance.errors import ConfigError
from conformance.reference.app import DELEGATED
from conformance.reference.faults import HTTP_FAULTS, catalogue, parse_faults


def _requirement_levels() -> dict[str, str]:
    document = yaml.safe_load((spec.openapi_dir() / "requirements.yaml").read_text(encoding="utf-8"))
    return {item["id"]: item["level"] for item in document["requirements"]}


def test_catalogue_is_sorted_and_merges_engines() -> None:
    faults = catalogue()
    assert list(faults) == sorted(faults)
    assert set(HTTP_FAULTS) <= set(faults)
    assert "chat.stream.done-sentinel" in faults  # from engines.chat
    assert all(isinstance(text, str) and text for text in faults.values())


def test_every_fault_is_named_after_a_requirement() -> None:
    known = _requirement_levels()
    unknown = [name for name in catalogue() if name.split("@")[0] not in known]
    assert unknown == []


def test_every_must_of_auth_errors_models_has_a_fault() -> None:
    areas = ("auth.", "errors.", "models.")
    musts = {rid for rid, level in _requirement_levels().items() if level == "MUST" and rid.startswith(areas)}
    covered = {name.split("@")[0] for name in HTTP_FAULTS}
    assert musts - covered == set()


def test_delegated_faults_exist() -> None:
    assert set(DELEGATED) <= set(catalogue())


def test_parse_faults_accepts_lists_and_joined_names() -> None:
    parsed = parse_faults(["auth.missing-key+errors.unknown-path", "errors.wrong-method", " "])
    assert parsed.names == frozenset({"auth.missing-key", "errors.unknown-path", "errors.wrong-method"})
    assert not parse_faults([])


def test_parse_faults_rejects_unknown_names_with_a_hint() -> None:
    with pytest.raises(ConfigError, match=r"unknown fault 'errors\.unknown-pat'.*errors\.unknown-path"):
        parse_faults(["errors.unknown-pat"])
    with pytest.raises(ConfigError, match="list faults"):
        parse_faults(["zzz"])
