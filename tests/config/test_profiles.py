"""conformance.profiles: one definition of features and profiles, pinned to the catalogue."""

from __future__ import annotations

import pytest

from conformance import profiles
from conformance.profiles import CORE_FEATURES, FEATURES, PROFILES, Profile, covers, kept_in_core, parse_profile
from conformance.requirements import load_catalogue


def test_features_are_exactly_the_catalogues() -> None:
    """A feature the catalogue gains or loses must be added to or removed from FEATURES too."""
    assert load_catalogue().features() == FEATURES


def test_core_features_are_features() -> None:
    assert CORE_FEATURES < FEATURES


def test_profile_is_a_str_enum_compatible_with_the_plain_names() -> None:
    assert PROFILES == ("core", "full")
    assert Profile.CORE == "core" and str(Profile.FULL) == "full"
    assert parse_profile("core") is Profile.CORE
    with pytest.raises(ValueError, match="expected one of core, full"):
        parse_profile("gold")


@pytest.mark.parametrize(("profile", "requirement", "expected"), [
    ("full", "core", True), ("full", "full", True), ("core", "core", True), ("core", "full", False),
])
def test_covers(profile: str, requirement: str, expected: bool) -> None:
    assert covers(profile, requirement) is expected


def test_kept_in_core_needs_core_features_and_a_core_id() -> None:
    profile_of = {"a.core": "core", "a.full": "full"}.get
    assert kept_in_core(["chat"], ["a.full", "a.core"], profile_of)
    assert not kept_in_core(["chat"], ["a.full"], profile_of)
    assert not kept_in_core(["chat", "video"], ["a.core"], profile_of)
    assert not kept_in_core([], ["unknown.id"], profile_of)


def test_profiles_imports_nothing_of_ours() -> None:
    """A leaf every layer may use: it imports nothing of the package but the shared vocabulary."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(profiles.__file__).read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert {name for name in imported if name.startswith("conformance")} <= {"conformance.model"}
