"""What the suite contains: every conformance test with the requirement ids and features it names.

Used by ``nexhina-conformance list tests`` and by the traceability self-test. Collection runs
pytest's own collector (so parametrised cases and their marks are seen exactly as a run sees
them) without contacting any target.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

_RUN_INI = Path(__file__).parent / "data" / "run.ini"


@dataclass(frozen=True)
class SuiteTest:
    """One collected conformance test."""

    nodeid: str
    requirements: tuple[str, ...]
    features: tuple[str, ...]


class _Collector:
    """A pytest plugin that keeps the collected items' marks."""

    def __init__(self) -> None:
        self.tests: list[SuiteTest] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            ids = [str(a) for m in item.iter_markers("requirements") for a in m.args]
            features = [str(a) for m in item.iter_markers("feature") for a in m.args]
            self.tests.append(SuiteTest(item.nodeid, tuple(dict.fromkeys(ids)), tuple(dict.fromkeys(features))))


def collect_suite_tests() -> list[SuiteTest]:
    """Collect ``conformance.suites`` in this process (no request is sent) and return its tests."""
    collector = _Collector()
    # pytest's own listing is not wanted here: only the collected marks are.
    with contextlib.redirect_stdout(io.StringIO()):
        code = pytest.main(
            ["-c", str(_RUN_INI), "--rootdir", str(Path.cwd()), "--pyargs", "conformance.suites",
             "--collect-only", "-q"],
            plugins=[collector],
        )
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise RuntimeError(f"collecting conformance.suites failed with pytest exit code {int(code)}")
    return collector.tests


def main() -> int:
    """``python -m conformance.inventory``: the collected tests as JSON on stdout."""
    tests = collect_suite_tests()
    sys.stdout.write(json.dumps([asdict(t) for t in tests], indent=1) + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
