"""``conformance.allure_requirements``: one Allure result per requirement, worst first, evidence inside."""

from __future__ import annotations

import json
from pathlib import Path

from conformance.allure_requirements import (
    ALLURE_STATUS,
    KIND_LABEL,
    REQUIREMENTS_GROUP,
    TESTS_GROUP,
    add_model_verdicts,
    history_id,
    is_requirement_result,
    write_requirement_results,
)
from conformance.report import build_report
from conformance.requirements import load_catalogue
from conformance.verdicts import (
    TEST_ERROR,
    TEST_NOT_SUPPORTED,
    TEST_PASSED,
    TEST_VIOLATED,
    TestRecord,
    ViolationRecord,
    aggregate,
)
from tests.runner.test_report import FACTS

CURL = "curl -sS -X POST https://gw.example/v1/chat/completions -H 'authorization: Bearer ********'"


def _report() -> dict[str, object]:
    records = [
        TestRecord("t1", ("chat.stream.done-sentinel",), TEST_VIOLATED,
                   (ViolationRecord("chat.stream.done-sentinel", "one [DONE]", "none", "event[4]", CURL),)),
        TestRecord("t2", ("models.list.shape",), TEST_PASSED, judged=("models.list.shape",)),
        TestRecord("t3", ("rerank.sorted",), TEST_NOT_SUPPORTED, message="NOT_SUPPORTED: the target does not declare"),
        TestRecord("t4", ("auth.valid-key",), TEST_ERROR, message="transport error: ReadTimeout"),
    ]
    return build_report(aggregate(records, load_catalogue()), FACTS)


def _results(directory: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*-result.json"))]


def test_one_result_per_requirement_with_its_status(tmp_path: Path) -> None:
    report = _report()
    written = write_requirement_results(tmp_path, report, start_ms=1_000)
    assert len(written) == len(report["requirements"])  # type: ignore[arg-type]
    by_story = {
        next(lb["value"] for lb in r["labels"] if lb["name"] == "story"): r  # type: ignore[attr-defined,index]
        for r in _results(tmp_path)
    }
    assert by_story["chat.stream.done-sentinel"]["status"] == "failed"
    assert by_story["models.list.shape"]["status"] == "passed"
    assert by_story["rerank.sorted"]["status"] == "skipped"
    assert by_story["auth.valid-key"]["status"] == "broken"
    assert by_story["chat.stream.usage-chunk"]["status"] == "skipped"  # NOT_RUN
    assert ALLURE_STATUS["WARN"] == "passed"
    failed = by_story["chat.stream.done-sentinel"]
    labels = {(lb["name"], lb["value"]) for lb in failed["labels"]}  # type: ignore[attr-defined]
    assert {("parentSuite", REQUIREMENTS_GROUP), ("suite", "chat"), ("subSuite", "chat.streaming"),
            ("epic", "chat"), ("tag", "FAIL"), ("severity", "critical"), (KIND_LABEL, "requirement")} <= labels
    assert failed["historyId"] == history_id("chat.stream.done-sentinel")
    assert str(failed["name"]).startswith("FAIL chat.stream.done-sentinel: ")


def test_the_failed_requirement_comes_first_with_its_evidence_and_curl(tmp_path: Path) -> None:
    write_requirement_results(tmp_path, _report(), start_ms=1_000)
    results = sorted(_results(tmp_path), key=lambda r: r["start"])  # type: ignore[arg-type,return-value]
    assert [r["status"] for r in results[:2]] == ["failed", "broken"]
    first = results[0]
    message = first["statusDetails"]["message"]  # type: ignore[index]
    assert message.startswith("event[4] expected one [DONE]; actual none")
    assert message.endswith(f"reproduce with:\n{CURL}")
    assert "expected: one [DONE]" in first["descriptionHtml"]  # type: ignore[operator]
    attachments = first["attachments"]
    assert [a["name"] for a in attachments] == ["evidence 1: t1", "curl 1"]  # type: ignore[attr-defined]
    curl_file = tmp_path / attachments[1]["source"]  # type: ignore[index]
    assert curl_file.read_text() == CURL + "\n"


def test_the_description_escapes_what_the_server_sent(tmp_path: Path) -> None:
    report = _report()
    for req in report["requirements"]:  # type: ignore[attr-defined]
        if req["id"] == "chat.stream.done-sentinel":
            req["evidence"][0]["actual"] = "<script>alert(1)</script>"
    write_requirement_results(tmp_path, report, start_ms=0)
    failed = next(r for r in _results(tmp_path) if r["status"] == "failed")
    description = str(failed["descriptionHtml"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in description and "<script>" not in description


def test_per_test_results_get_a_readable_group_and_requirements_their_model_verdicts(tmp_path: Path) -> None:
    per_test = {"uuid": "t1", "name": "test_chat_basic", "status": "passed",
                "labels": [{"name": "parentSuite", "value": "conformance.suites"},
                           {"name": "suite", "value": "test_chat"}]}
    (tmp_path / "t1-result.json").write_text(json.dumps(per_test))
    no_parent = {"uuid": "t2", "name": "test_chat_n", "status": "passed", "labels": [{"name": "suite", "value": "x"}]}
    (tmp_path / "t2-result.json").write_text(json.dumps(no_parent))
    write_requirement_results(tmp_path, _report(), start_ms=0)
    for name in ("t1", "t2"):
        test_result = json.loads((tmp_path / f"{name}-result.json").read_text())
        assert [lb for lb in test_result["labels"] if lb["name"] == "parentSuite"] == [
            {"name": "parentSuite", "value": TESTS_GROUP}]
        assert not is_requirement_result(test_result)
    matrix = {"models": {"ref-chat": {"requirements": {"chat.stream.done-sentinel": "PASS"}},
                         "ref-chat-2": {"requirements": {"chat.stream.done-sentinel": "FAIL"}}}}
    assert add_model_verdicts(tmp_path, matrix) == 1
    done = next(r for r in _results(tmp_path) if r["fullName"] == "requirement chat.stream.done-sentinel")
    assert done["parameters"] == [{"name": "model ref-chat-2", "value": "FAIL"},
                                  {"name": "model ref-chat", "value": "PASS"}]   # worst first
    others = [r for r in _results(tmp_path) if is_requirement_result(r) and r["fullName"] != done["fullName"]]
    assert others and all(r["parameters"] == [] for r in others)
