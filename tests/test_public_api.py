"""The public API of ``conformance``: `__all__` is pinned, every name resolves, enums stay str."""

from __future__ import annotations

import json
import subprocess
import sys

import conformance
from conformance.model import Exchange, ExchangeOutcome
from conformance.profiles import Profile

#: Changing this list is an API change: say so in the changelog and the release notes.
PUBLIC = [
    "CORE_FEATURES", "FEATURES", "PROFILES", "Catalogue", "CatalogueError", "ConfigError",
    "ConformanceError", "Exchange", "ExchangeOutcome", "Findings", "Level", "Profile", "Requirement",
    "SSETranscript", "Settings", "SpecError", "TransportError", "Verdict", "Violation", "__version__",
    "describe", "load_catalogue", "load_target_file", "resolve",
]


def test_all_is_pinned() -> None:
    assert sorted(conformance.__all__) == sorted(PUBLIC)


def test_every_public_name_resolves_to_its_defining_module() -> None:
    from conformance import config, errors, model, profiles, requirements

    homes = (config, errors, model, profiles, requirements)
    for name in conformance.__all__:
        value = getattr(conformance, name)
        if name != "__version__":
            assert any(getattr(home, name, None) is value for home in homes), name


def test_an_unknown_name_is_an_attribute_error() -> None:
    assert not hasattr(conformance, "STATE")


def test_importing_the_package_loads_no_catalogue_or_settings() -> None:
    code = "import sys, conformance; print([m for m in ('conformance.config', 'conformance.requirements') " \
           "if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_enums_are_str_compatible() -> None:
    assert ExchangeOutcome.NO_ANSWER == "no-answer" and f"{ExchangeOutcome.DEADLINE}" == "deadline"
    assert json.dumps({"p": Profile.CORE, "o": ExchangeOutcome.COMPLETE}) == '{"p": "core", "o": "complete"}'
    assert Exchange("GET", "u", {}, None, 200).outcome == ExchangeOutcome.COMPLETE
    # set and dict lookups mix members and plain strings freely (also on Python 3.10)
    assert "core" in {Profile.CORE} and Profile.FULL in {"full"} and "no-answer" in {ExchangeOutcome.NO_ANSWER}
    # and shown like them: str() and repr() of a mapping keyed by members are unchanged
    assert str({ExchangeOutcome.NO_ANSWER: 1, "p": Profile.CORE}) == str({"no-answer": 1, "p": "core"})


def test_exchange_outcomes_are_the_transports() -> None:
    """Every outcome the transport records is a member (its source names them as literals)."""
    import re
    from pathlib import Path

    import conformance.transport as transport

    here = Path(transport.__file__)
    files = sorted(here.parent.rglob("*.py")) if here.name == "__init__.py" else [here]
    used: set[str] = set()
    for file in files:
        used |= set(re.findall(r'outcome\s*=\s*"([a-z-]+)"', file.read_text(encoding="utf-8")))
    assert used and used <= {o.value for o in ExchangeOutcome}
