"""``conformance.html_summary``: the matrix page (the browser test reads it rendered; this, its markup)."""

from __future__ import annotations

from pathlib import Path

from conformance.html_summary import area_counts, render_summary, write_summary
from tests.runner.test_allure_requirements import CURL, _report


def test_the_page_starts_with_versions_cost_and_the_matrix(tmp_path: Path) -> None:
    report = _report()
    path = write_summary(tmp_path, report)
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert "suite nexhina-conformance 0.1.0; spec 1.0.0; report schema 1" in page
    assert "cost: 0 requests sent" in page
    assert page.index('id="profiles"') < page.index('id="matrix"') < page.index("Needs attention")
    counts = area_counts(report["requirements"])  # type: ignore[arg-type]
    assert counts["chat"]["FAIL"] == 1 and counts["auth"]["ERROR"] == 1 and counts["rerank"]["NOT_SUPPORTED"] == 1
    assert "https://gw.example/v1" in page and "pw@" not in page


def test_failures_come_first_with_evidence_and_escaped_curl() -> None:
    page = render_summary(_report())
    attention = page[page.index("Needs attention"):]
    assert attention.index("chat.stream.done-sentinel") < attention.index("auth.valid-key")
    assert "reproduce with:" in attention
    assert CURL.replace("'", "&#x27;") in attention
