"""conformance-report.json (validated against its schema), summary.md and the terminal summary."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator

from conformance.report import RunFacts, build_report, safe_url, terminal_summary, write_reports
from conformance.requirements import load_catalogue
from conformance.verdicts import TEST_PASSED, TEST_VIOLATED, TestRecord, ViolationRecord, aggregate

SCHEMA = Path(__file__).resolve().parents[2] / "conformance" / "data" / "conformance-report.schema.json"

FACTS = RunFacts(
    suite_version="0.1.0",
    spec_version="1.0.0",
    base_url="https://user:pw@gw.example/v1",
    implementation_name="gw",
    implementation_version="9",
    features=["chat", "models"],
    profile="full",
    started="2026-11-29T10:00:00+00:00",
    finished="2026-11-29T10:00:05+00:00",
    duration_s=5.0,
    seed=7,
    workers=0,
    exit_code=1,
)


def _results():  # type: ignore[no-untyped-def]
    records = [
        TestRecord("t1", ("chat.stream.done-sentinel",), TEST_VIOLATED,
                   (ViolationRecord("chat.stream.done-sentinel", "[DONE]", "none", "event[4]", "curl -X POST"),)),
        TestRecord("t2", ("models.list.shape",), TEST_PASSED, judged=("models.list.shape",)),
    ]
    return aggregate(records, load_catalogue())


def test_report_validates_against_its_schema(tmp_path: Path) -> None:
    write_reports(tmp_path, _results(), FACTS)
    report = json.loads((tmp_path / "conformance-report.json").read_text())
    validator = Draft202012Validator(json.loads(SCHEMA.read_text()), format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert list(validator.iter_errors(report)) == []
    by_id = {r["id"]: r for r in report["requirements"]}
    assert by_id["chat.stream.done-sentinel"]["verdict"] == "FAIL"
    assert by_id["chat.stream.done-sentinel"]["evidence"][0]["where"] == "event[4]"
    assert by_id["models.list.shape"]["verdict"] == "PASS"
    assert report["profiles"]["core"]["result"] == "failure"


def test_credentials_in_the_url_never_reach_a_report(tmp_path: Path) -> None:
    assert safe_url("https://user:pw@gw.example:8443/v1") == "https://gw.example:8443/v1"
    write_reports(tmp_path, _results(), FACTS)
    for path in tmp_path.iterdir():
        assert "pw@" not in path.read_text()


def test_summary_has_a_table_per_area_and_terminal_lines(tmp_path: Path) -> None:
    write_reports(tmp_path, _results(), FACTS)
    summary = (tmp_path / "summary.md").read_text()
    assert "## chat" in summary and "## models" in summary
    assert "| `chat.stream.done-sentinel` | MUST | FAIL |" in summary
    lines = terminal_summary(_results(), FACTS)
    assert any(line.startswith("FAIL  chat.stream.done-sentinel") for line in lines)
    assert "profile core: failure" in lines
    assert build_report(_results(), FACTS)["target"]["base_url"] == "https://gw.example/v1"  # type: ignore[index]


def test_not_run_of_a_declared_feature_is_listed_never_a_silent_success(tmp_path: Path) -> None:
    catalogue = load_catalogue()
    core_models = [r.id for r in catalogue if r.feature == "models" and r.profile == "core"]
    judged, unjudged = core_models[0], core_models[1]
    records = [TestRecord("t", (judged, unjudged), TEST_PASSED, judged=(judged,))]
    results = aggregate(records, catalogue)
    report = build_report(results, FACTS)
    assert report["profiles"]["core"]["result"] == "partial"  # type: ignore[index]
    assert f"NOT_RUN {unjudged} (a declared feature's requirement no test judged)" in terminal_summary(results, FACTS)
    write_reports(tmp_path, results, FACTS)
    summary = (tmp_path / "summary.md").read_text()
    assert "## Not run" in summary and f"- `{unjudged}`" in summary


def test_fail_evidence_is_shown_first_whatever_the_cap(tmp_path: Path) -> None:
    rid = "chat.response.schema"
    records = [TestRecord(f"skip{i}", (rid,), "not_supported", message="not declared") for i in range(8)]
    records.append(TestRecord("t", (rid,), TEST_VIOLATED, (ViolationRecord(rid, "an object", "[]", "/", count=3),)))
    report = build_report(aggregate(records, load_catalogue()), FACTS)
    (entry,) = [r for r in report["requirements"] if r["id"] == rid]  # type: ignore[union-attr]
    assert entry["verdict"] == "FAIL" and len(entry["evidence"]) == 5
    assert entry["evidence"][0]["verdict"] == "FAIL" and entry["evidence"][0]["count"] == 3


def test_client_impact_reaches_the_json_report_summary_and_terminal(tmp_path: Path) -> None:
    impact = "openai-python 3.51.0: raises APIResponseValidationError: Data returned by API invalid"
    records = [
        TestRecord("t1", ("chat.stream.done-sentinel",), TEST_VIOLATED,
                   (ViolationRecord("chat.stream.done-sentinel", "[DONE]", "none", "event[4]", None,
                                    client_impact=impact),)),
    ]
    results = aggregate(records, load_catalogue())
    write_reports(tmp_path, results, FACTS)
    report = json.loads((tmp_path / "conformance-report.json").read_text())
    validator = Draft202012Validator(json.loads(SCHEMA.read_text()), format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert list(validator.iter_errors(report)) == []
    by_id = {r["id"]: r for r in report["requirements"]}
    assert by_id["chat.stream.done-sentinel"]["evidence"][0]["client_impact"] == impact
    assert f"client: {impact}" in (tmp_path / "summary.md").read_text()
    assert f"      client: {impact}" in terminal_summary(results, FACTS)
