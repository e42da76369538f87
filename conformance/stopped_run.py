"""The record and the Allure result of a run the preflight stopped before any test (D33).

The run still writes every report: the plugin folds `preflight_record` into the verdicts
like any test's record (every requirement of a declared feature ERROR, with the reason),
and `write_allure_stopped` leaves one broken ``preflight`` result in allure-results.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from conformance.requirements import Catalogue
from conformance.verdicts import TEST_ERROR, TestRecord

PREFLIGHT_NODE = "nexhina-conformance::preflight"


def preflight_record(catalogue: Catalogue, features: frozenset[str], message: str) -> TestRecord:
    """An ERROR record for every requirement of a declared feature, carrying the reason."""
    ids = tuple(req.id for req in catalogue if req.feature in features)
    return TestRecord(PREFLIGHT_NODE, ids, TEST_ERROR, message=message)


def write_allure_stopped(allure_dir: Path, message: str) -> Path:
    """One broken Allure result named ``preflight`` with the reason; return its path."""
    allure_dir.mkdir(parents=True, exist_ok=True)
    now = int(time.time() * 1000)
    result_id = str(uuid.uuid4())
    result = {
        "uuid": result_id,
        "historyId": "nexhina-conformance-preflight",
        "name": "preflight",
        "fullName": PREFLIGHT_NODE,
        "status": "broken",
        "statusDetails": {"message": message},
        "stage": "finished",
        "start": now,
        "stop": now,
        "labels": [{"name": "suite", "value": "nexhina-conformance"}],
    }
    path = allure_dir / f"{result_id}-result.json"
    path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return path
