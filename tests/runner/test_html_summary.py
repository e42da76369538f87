"""``conformance.html_summary``: the matrix page (the browser test reads it rendered; this, its markup)."""

from __future__ import annotations

import json
from pathlib import Path

from conformance.html_summary import area_counts, render_summary, write_summary
from conformance.report import REPORT_SCHEMA_VERSION
from tests.runner.test_allure_requirements import CURL, _report


def test_the_page_starts_with_versions_cost_and_the_matrix(tmp_path: Path) -> None:
    report = _report()
    path = write_summary(tmp_path, report)
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert f"suite nexhina-conformance 0.1.0; spec 1.0.0; report schema {REPORT_SCHEMA_VERSION}" in page
    assert "cost: 0 requests sent, 0 billable generation calls" in page
    assert 'id="models"' not in page   # no model matrix beside this report
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


def test_a_model_matrix_beside_the_report_adds_the_model_by_area_table(tmp_path: Path) -> None:
    report = _report()
    report["run"]["requests_by_operation"] = {"POST /chat/completions": 7, "GET /models": 2}  # type: ignore[index]
    report["run"]["billable_requests"] = 7  # type: ignore[index]
    (tmp_path / "conformance-report.json").write_text(json.dumps(report))
    matrix = {"models": {
        "ref-chat-2": {"overall": "FAIL", "areas": {"chat": "FAIL", "embeddings": "PASS"}, "requirements": {}},
        "ref-chat": {"overall": "PASS", "areas": {"chat": "PASS"}, "requirements": {}},
    }}
    (tmp_path / "model-matrix.json").write_text(json.dumps(matrix))
    page = write_summary(tmp_path).read_text()   # read from the directory, as merge and the matrix do
    assert "Models by area (2 models)" in page
    assert page.index('id="matrix"') < page.index('id="models"') < page.index("Needs attention")
    table = page[page.index('id="models"'):page.index("</table>", page.index('id="models"'))]
    assert "<th>model</th><th>overall</th><th>chat</th><th>embeddings</th>" in table
    assert table.index("ref-chat</code>") < table.index("ref-chat-2</code>")
    assert '<td class="FAIL">FAIL</td><td class="FAIL">FAIL</td><td class="PASS">PASS</td>' in table
    assert '<td class="PASS">PASS</td><td class="">-</td>' in table   # an area the model has no row in
    assert "7 billable generation calls (POST /chat/completions 7, GET /models 2)" in page
