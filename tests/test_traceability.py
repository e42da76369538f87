"""Traceability: every requirement is checked by a test, every MUST is broken by a fault.

It prints the coverage figures (run with ``-s`` to see them) and fails on any gap or on an id
that a test or a fault names but the catalogue does not know.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache

from conformance.model import Level
from conformance.reference.faults import catalogue as fault_catalogue
from conformance.requirements import load_catalogue


@cache
def _suite_tests() -> list[dict[str, list[str]]]:
    # A separate process: collecting the suites inside this pytest session would mix the two.
    out = subprocess.run(
        [sys.executable, "-m", "conformance.inventory"], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    tests: list[dict[str, list[str]]] = json.loads(out)
    return tests


def _tested_ids() -> set[str]:
    return {rid for test in _suite_tests() for rid in test["requirements"]}


def _faulted_ids() -> set[str]:
    return {name.split("@", 1)[0] for name in fault_catalogue()}


def test_no_test_or_fault_names_an_unknown_id() -> None:
    known = set(load_catalogue().ids())
    assert sorted(_tested_ids() - known) == []
    assert sorted(_faulted_ids() - known) == []


def test_every_requirement_is_checked_by_a_test() -> None:
    missing = [req.id for req in load_catalogue() if req.id not in _tested_ids()]
    assert missing == []


def test_every_must_is_broken_by_a_fault() -> None:
    missing = [req.id for req in load_catalogue() if req.level is Level.MUST and req.id not in _faulted_ids()]
    assert missing == []


def test_coverage_figures() -> None:
    cat = load_catalogue()
    tested, faulted = _tested_ids(), _faulted_ids()
    total = len(cat)
    with_tests = sum(1 for r in cat if r.id in tested)
    with_faults = sum(1 for r in cat if r.id in faulted)
    sys.stdout.write(
        f"\nrequirements {total} (MUST {sum(r.level is Level.MUST for r in cat)}), "
        f"with tests {with_tests}, with faults {with_faults}, "
        f"suite tests {len(_suite_tests())}, faults {len(fault_catalogue())}\n"
    )
    assert with_tests == total


def test_core_profile_is_exactly_the_core_features() -> None:
    """A gateway that declares only the core features can reach core success."""
    from conformance.config import CORE_FEATURES

    wrong = [r.id for r in load_catalogue() if (r.profile == "core") != (r.feature in CORE_FEATURES)]
    assert wrong == []
