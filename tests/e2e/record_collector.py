"""A pytest plugin for self-tests: writes every test's verdict record to a JSON-lines file.

Loaded into a conformance run with ``-p record_collector`` (its directory on PYTHONPATH); the
file is named by the environment variable ``NEXHINA_RECORDS_OUT``. It reads the records the
conformance plugin attaches to each report, on the controller, so it works under xdist too.
"""

from __future__ import annotations

import os

import pytest

from conformance.plugin import _PROPERTY as RECORD_PROPERTY


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Append each record of the report to the output file."""
    path = os.environ.get("NEXHINA_RECORDS_OUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        for name, value in report.user_properties:
            if name == RECORD_PROPERTY:
                out.write(str(value) + "\n")
