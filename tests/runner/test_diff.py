"""``conformance.diff``: regressions first, fixes, new WARNs, NOT_SUPPORTED; schema versions; the CLI."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.diff import (
    READABLE_VERSIONS,
    ReportVersionError,
    compare,
    diff_paths,
    load_report,
    render_markdown,
    render_text,
)


def _req(rid: str, verdict: str, **extra: object) -> dict[str, object]:
    return {"id": rid, "level": "MUST", "feature": "chat", "profile": "core", "text": f"{rid} text", "ref": [],
            "verdict": verdict, "baselined": False, "stale": False, "tests": [], "evidence": [], **extra}


def _report(*reqs: dict[str, object], version: object = 1) -> dict[str, object]:
    return {"schema_version": version, "suite": {"name": "nexhina-conformance", "version": "0.1.0"},
            "requirements": list(reqs)}


OLD = _report(
    _req("a.regressed", "PASS"), _req("b.fixed", "FAIL"), _req("c.warned", "PASS"),
    _req("d.unsupported", "PASS"), _req("e.same", "FAIL"), _req("f.errored", "PASS"), _req("g.removed", "PASS"),
)
NEW = _report(
    _req("a.regressed", "FAIL", evidence=[{"test": "t", "verdict": "FAIL", "where": "/x", "expected": "1",
                                            "actual": "2", "curl": "curl -sS"}]),
    _req("b.fixed", "PASS"), _req("c.warned", "WARN"), _req("d.unsupported", "NOT_SUPPORTED"),
    _req("e.same", "FAIL"), _req("f.errored", "ERROR", evidence=[{"test": "t", "verdict": "ERROR",
                                                                  "message": "transport error: timeout"}]),
    _req("h.added", "FAIL"),
)


def test_changes_are_sorted_into_sections_with_regressions_first() -> None:
    diff = compare(OLD, NEW)
    assert [(c.requirement, c.old, c.new) for c in diff.regressions] == [
        ("a.regressed", "PASS", "FAIL"), ("f.errored", "PASS", "ERROR")]
    assert diff.regressions[0].detail == "/x expected 1; actual 2"
    assert diff.regressions[1].detail == "transport error: timeout"
    assert [c.requirement for c in diff.fixes] == ["b.fixed"]
    assert [c.requirement for c in diff.new_warns] == ["c.warned"]
    assert [c.requirement for c in diff.not_supported] == ["d.unsupported"]
    assert [(c.requirement, c.old, c.new) for c in diff.other] == [
        ("g.removed", "PASS", "ABSENT"), ("h.added", "ABSENT", "FAIL")]
    assert diff.exit_code == 1
    assert compare(NEW, NEW).exit_code == 0
    assert [c.requirement for c in compare(NEW, OLD).regressions] == ["b.fixed"]


def test_text_and_markdown_name_the_regression_first() -> None:
    diff = compare(OLD, NEW, old_name="nightly-1", new_name="nightly-2")
    text = render_text(diff).splitlines()
    assert text[:3] == ["conformance diff: nightly-1 -> nightly-2", "regressions (PASS -> FAIL/ERROR): 2",
                        "  a.regressed: PASS -> FAIL  (/x expected 1; actual 2)"]
    assert text[-1] == "result: 2 regression(s)"
    markdown = render_markdown(diff)
    assert "**2 regression(s)**" in markdown
    assert markdown.index("a.regressed") < markdown.index("b.fixed")
    assert "| `a.regressed` | PASS | FAIL | /x expected 1; actual 2 |" in markdown


def test_requirements_are_compared_per_model_once_reports_carry_models() -> None:
    old = _report(_req("a", "PASS", model="m1"), _req("a", "PASS", model="m2"))
    new = _report(_req("a", "PASS", model="m1"), _req("a", "FAIL", model="m2"))
    diff = compare(old, new)
    assert [c.key for c in diff.regressions] == ["m2: a"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("not json", "not a readable JSON report"),
        (json.dumps({"hello": 1}), "not a conformance report"),
        (json.dumps(_report(version=None)), "no integer schema_version"),
        (json.dumps(_report(version="1")), "no integer schema_version"),
        (json.dumps(_report(version=99)), "report schema_version 99 is newer than this suite knows"),
    ],
)
def test_an_unreadable_report_is_refused_with_the_reason(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "conformance-report.json"
    path.write_text(content)
    with pytest.raises(ReportVersionError, match=reason):
        load_report(tmp_path)


def test_every_earlier_schema_version_is_readable(tmp_path: Path) -> None:
    for version in sorted(READABLE_VERSIONS):
        path = tmp_path / f"v{version}.json"
        path.write_text(json.dumps(_report(_req("a", "PASS"), version=version)))
        assert load_report(path)["schema_version"] == version
    with pytest.raises(ReportVersionError, match="no conformance report there"):
        load_report(tmp_path / "missing")


def test_the_cli_exits_1_on_a_regression_and_writes_markdown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "conformance-report.json").write_text(json.dumps(OLD))
    (tmp_path / "new.json").write_text(json.dumps(NEW))
    out = tmp_path / "diff.md"
    assert main(["diff", str(tmp_path / "old"), str(tmp_path / "new.json"), "--output", str(out)]) == 1
    assert "regressions (PASS -> FAIL/ERROR): 2" in capsys.readouterr().out
    assert out.read_text().startswith("# Conformance diff")
    assert main(["diff", str(tmp_path / "new.json"), str(tmp_path / "new.json"), "--format", "markdown"]) == 0
    assert "no regression" in capsys.readouterr().out
    bad = copy.deepcopy(NEW)
    bad["schema_version"] = 7
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    assert main(["diff", str(tmp_path / "old"), str(tmp_path / "bad.json")]) == 4
    assert "schema_version 7" in capsys.readouterr().err
    assert diff_paths(tmp_path / "old", tmp_path / "new.json").old == str(tmp_path / "old")


def _matrix_run(directory: Path, overall: str, per_model: dict[str, str]) -> Path:
    """A report directory of a model-matrix run: the JSON report and model-matrix.json beside it."""
    directory.mkdir()
    (directory / "conformance-report.json").write_text(json.dumps(_report(_req("chat.schema", overall))))
    models = {m: {"overall": v, "areas": {"chat": v}, "requirements": {"chat.schema": v}}
              for m, v in per_model.items()}
    (directory / "model-matrix.json").write_text(json.dumps({"models": models}))
    return directory


def test_model_matrix_beside_the_reports_is_compared_per_model_and_requirement(tmp_path: Path) -> None:
    old = _matrix_run(tmp_path / "old", "PASS", {"ref-chat": "PASS", "ref-chat-2": "PASS"})
    new = _matrix_run(tmp_path / "new", "FAIL", {"ref-chat": "PASS", "ref-chat-2": "FAIL"})
    diff = diff_paths(old, new)
    assert [c.key for c in diff.regressions] == ["chat.schema", "ref-chat-2: chat.schema"]
    assert diff.other == [] and diff.exit_code == 1
    assert "  ref-chat-2: chat.schema: PASS -> FAIL" in render_text(diff)
    # Against a run without a matrix the per-model rows are absent, never a regression.
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "conformance-report.json").write_text(json.dumps(_report(_req("chat.schema", "PASS"))))
    assert [c.key for c in diff_paths(old, plain).other] == ["ref-chat: chat.schema", "ref-chat-2: chat.schema"]
    (new / "model-matrix.json").write_text("[]")
    with pytest.raises(ReportVersionError, match="not a readable model matrix"):
        load_report(new)
