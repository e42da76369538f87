"""Allure: the labels of each test (epic, feature, story, severity, case) and the evidence of a violation.

Imported lazily from allure-pytest: a run without ``--alluredir`` pays nothing.
"""

from __future__ import annotations

import pytest

from conformance.model import Level
from conformance.plugin.selection import declared_ids
from conformance.plugin.state import STATE
from conformance.recorder import VerdictRecorder


def attach_evidence(recorder: VerdictRecorder) -> None:
    """Attach the redacted exchanges and the failure text to the Allure result."""
    import allure

    allure.attach(
        recorder.failure_text(Level.MUST) or recorder.failure_text(Level.SHOULD),
        name="violations",
        attachment_type=allure.attachment_type.TEXT,
    )
    for name, text in recorder.transcripts():
        allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)
    impacts = recorder.impact_lines()
    if impacts:
        allure.attach("\n".join(impacts), name="client impact", attachment_type=allure.attachment_type.TEXT)


@pytest.fixture(autouse=True)
def _nexhina_allure_labels(request: pytest.FixtureRequest) -> None:
    """Allure labels: epic = area, feature, story = requirement id, severity from the level."""
    ids = declared_ids(request.node)
    if not ids or request.config.getoption("allure_report_dir", None) is None:
        return
    import allure

    catalogue = request.config.stash[STATE].catalogue
    first = catalogue[ids[0]]
    allure.dynamic.epic(first.id.split(".", 1)[0])
    allure.dynamic.feature(first.feature)
    for rid in ids:
        allure.dynamic.story(rid)
    levels = {catalogue[rid].level for rid in ids}
    allure.dynamic.severity(
        allure.severity_level.CRITICAL if Level.MUST in levels else allure.severity_level.NORMAL
    )
    callspec = getattr(request.node, "callspec", None)
    label = getattr(request.node, "operation_label", None)
    case = label or (callspec.id if callspec is not None else None)
    if case:
        # A per-case parameter keeps parametrised cases apart in Allure's history ids.
        allure.dynamic.parameter("case", case)
