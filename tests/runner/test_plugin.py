"""The pytest plugin through pytester: level rule, gating, errors, baseline, exit codes, reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TESTS = '''
import pytest
from conformance.errors import TransportTimeout
from conformance.model import Findings, Violation

@pytest.mark.requirements("chat.stream.done-sentinel")
def test_must(verdict):
    verdict.check([Violation("chat.stream.done-sentinel", "one [DONE]", "none", "event[4]")])

@pytest.mark.requirements("chat.stream.role-not-repeated")
def test_should(verdict):
    verdict.check([Violation("chat.stream.role-not-repeated", "role once", "role twice", "event[2]")])

@pytest.mark.feature("rerank")
@pytest.mark.requirements("rerank.sorted")
def test_not_declared(verdict):
    verdict.check([])

@pytest.mark.requirements("models.list.shape")
def test_transport_trouble(verdict):
    raise TransportTimeout("no answer within 5s")

@pytest.mark.requirements("models.retrieve.shape")
def test_clean(verdict):
    verdict.check(Findings(judged={"models.retrieve.shape"}))

@pytest.mark.requirements("models.list.declared-models")
def test_declares_but_never_judges(verdict):
    verdict.check([])
'''

TARGET = '''
[target]
base_url = "http://127.0.0.1:9/v1"
features = ["chat", "chat.streaming", "models", "auth", "errors"]
[models]
chat = "m"
'''


def _run(pytester: pytest.Pytester, body: str = TESTS, *args: str) -> tuple[pytest.RunResult, dict[str, str]]:
    pytester.makepyfile(test_sample=body)
    pytester.makefile(".toml", target=TARGET)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--nexhina-target=target.toml", "--nexhina-report-dir=out", *args
    )
    report_file = pytester.path / "out" / "conformance-report.json"
    verdicts = {}
    if report_file.exists():
        report = json.loads(report_file.read_text())
        verdicts = {r["id"]: r["verdict"] for r in report["requirements"] if r["verdict"] != "NOT_RUN"}
    return result, verdicts


def test_verdicts_by_level_gating_and_errors(pytester: pytest.Pytester) -> None:
    result, verdicts = _run(pytester)
    assert verdicts == {
        "chat.stream.done-sentinel": "FAIL",
        "chat.stream.role-not-repeated": "WARN",
        "rerank.sorted": "NOT_SUPPORTED",
        "models.list.shape": "ERROR",
        "models.retrieve.shape": "PASS",
    }  # models.list.declared-models: declared, never judged -> NOT_RUN, not PASS
    result.assert_outcomes(passed=3, failed=2, skipped=1)
    assert result.ret == 1  # a FAIL outranks the ERROR
    out = result.stdout.str()
    assert "FAIL chat.stream.done-sentinel [MUST]" in out and "where:    event[4]" in out
    assert "WARN  chat.stream.role-not-repeated" in out


def test_error_alone_exits_3(pytester: pytest.Pytester) -> None:
    result, verdicts = _run(pytester, TESTS, "-k", "transport_trouble or clean")
    assert verdicts["models.list.shape"] == "ERROR"
    assert result.ret == 3


def test_clean_exits_0_and_a_should_does_not_fail(pytester: pytest.Pytester) -> None:
    result, _ = _run(pytester, TESTS, "-k", "should or clean or not_declared")
    assert result.ret == 0
    result.assert_outcomes(passed=2, skipped=1)


def test_baseline_allows_listed_failures_and_fails_stale_entries(pytester: pytest.Pytester) -> None:
    pytester.makefile(".txt", baseline="chat.stream.done-sentinel known (GW-1)\n")
    result, verdicts = _run(pytester, TESTS, "-k", "must or clean", "--nexhina-baseline=baseline.txt")
    assert verdicts["chat.stream.done-sentinel"] == "FAIL" and result.ret == 0
    result.assert_outcomes(passed=1, xfailed=1)
    pytester.makefile(".txt", baseline="models.retrieve.shape\n")
    result, _ = _run(pytester, TESTS, "-k", "clean", "--nexhina-baseline=baseline.txt")
    assert result.ret == 1
    assert "STALE models.retrieve.shape" in result.stdout.str()


@pytest.mark.parametrize(
    ("body", "args", "fragment"),
    [
        (TESTS, ("--nexhina-baseline=missing.txt",), "cannot read baseline"),
        (TESTS.replace('"models.retrieve.shape")', '"models.retrieve.shap")'), (), "unknown requirement id"),
        (TESTS, ("--nexhina-profile=everything",), "profile"),
    ],
)
def test_usage_errors_exit_4(pytester: pytest.Pytester, body: str, args: tuple[str, ...], fragment: str) -> None:
    result, _ = _run(pytester, body, *args)
    assert result.ret == 4
    assert fragment in result.stderr.str() + result.stdout.str()


def test_interrupted_exits_2(pytester: pytest.Pytester) -> None:
    body = TESTS + '''
@pytest.mark.requirements("models.list.model-shape")
def test_interrupt(verdict):
    raise KeyboardInterrupt
'''
    result, _ = _run(pytester, body)
    assert result.ret == 2


def test_a_violation_of_an_undeclared_id_is_a_harness_error(pytester: pytest.Pytester) -> None:
    body = '''
import pytest
from conformance.model import Violation

@pytest.mark.requirements("models.list.shape")
def test_x(verdict):
    verdict.check([Violation("rerank.sorted", "a", "b")])
'''
    result, verdicts = _run(pytester, body)
    assert verdicts == {"models.list.shape": "ERROR"} and result.ret == 3


def test_core_profile_deselects_full_only_tests(pytester: pytest.Pytester) -> None:
    result, verdicts = _run(pytester, TESTS, "--nexhina-profile=core")
    assert "rerank.sorted" not in verdicts
    result.assert_outcomes(passed=3, failed=2)


def test_reports_are_identical_with_and_without_xdist(pytester: pytest.Pytester) -> None:
    _, sequential = _run(pytester, TESTS)
    report = json.loads((pytester.path / "out" / "conformance-report.json").read_text())
    _, parallel = _run(pytester, TESTS, "-n", "2")
    again = json.loads((pytester.path / "out" / "conformance-report.json").read_text())
    assert parallel == sequential

    def stable(doc: dict[str, object]) -> object:
        return doc["profiles"], [(r["id"], r["verdict"], r["tests"], r["evidence"]) for r in doc["requirements"]]

    assert stable(again) == stable(report)
    assert Path(pytester.path / "out" / "summary.md").exists()


ERROR_BODY = '''
import pytest
from conformance.errors import NoAnswer

def deep_helper():
    raise NoAnswer("POST http://gw.test/v1/chat/completions: no valid response (RemoteProtocolError: reset)")

@pytest.mark.requirements("models.list.shape")
def test_reset(verdict):
    deep_helper()
'''


def test_an_error_prints_one_line_and_the_traceback_only_with_v(pytester: pytest.Pytester) -> None:
    line = ("transport error: NoAnswer: POST http://gw.test/v1/chat/completions: "
            "no valid response (RemoteProtocolError: reset)")
    result, verdicts = _run(pytester, ERROR_BODY)
    assert verdicts == {"models.list.shape": "ERROR"} and result.ret == 3
    out = result.stdout.str()
    assert line in out
    assert "deep_helper()" not in out and "Traceback" not in out and "conformance/errors.py" not in out
    verbose, _ = _run(pytester, ERROR_BODY, "-v")
    assert "deep_helper()" in verbose.stdout.str()
