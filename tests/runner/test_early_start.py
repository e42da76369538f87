"""Tests that start early (D127), through pytester: started before the first test in one process,
inline under xdist, never when the test will not run, their errors re-raised in the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TESTS = '''
import json, threading, time
from pathlib import Path
import pytest
from conformance.model import Findings

LOG = Path("log.jsonl")

def note(**fields):
    with LOG.open("a") as handle:
        handle.write(json.dumps({"at": time.monotonic(), "thread": threading.current_thread().name, **fields}) + "\\n")

def wait_then_answer(transport, settings):
    note(what="send starts", base_url=settings.base_url, has_transport=transport is not None)
    time.sleep(0.3)
    return "answer"

def broken(transport, settings):
    raise RuntimeError("the send failed")

def test_a_first():
    # Started early, the send is on its way (its thread may not have run yet): wait for its note.
    early = any(t.name.startswith("nexhina-early-") for t in threading.enumerate())
    deadline = time.monotonic() + 10
    while early and not (LOG.exists() and "send starts" in LOG.read_text()) and time.monotonic() < deadline:
        time.sleep(0.01)
    note(what="first test", send_seen=LOG.exists() and "send starts" in LOG.read_text())

@pytest.mark.requirements("models.list.shape")
def test_b_first_judged(verdict):
    verdict.check(Findings(judged={"models.list.shape"}))

@pytest.mark.requirements("models.retrieve.shape")
@pytest.mark.early_start(send=wait_then_answer)
def test_c_waits(started_early, verdict):
    note(what="test takes it", value=started_early)
    assert started_early == "answer"
    verdict.check(Findings(judged={"models.retrieve.shape"}))

@pytest.mark.requirements("rerank.sorted")
@pytest.mark.feature("rerank")
@pytest.mark.early_start(send=wait_then_answer)
def test_d_not_declared(started_early, verdict):
    verdict.check([])

@pytest.mark.requirements("chat.response.schema")
@pytest.mark.early_start(send=broken)
def test_e_broken(started_early, verdict):
    verdict.check([])
'''

TARGET = '''
[target]
base_url = "http://127.0.0.1:9/v1"
features = ["chat", "models"]
[models]
chat = "m"
'''


def _run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, str], list[dict[str, object]]]:
    pytester.makepyfile(test_sample=TESTS)
    pytester.makefile(".toml", target=TARGET)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--nexhina-target=target.toml", "--nexhina-report-dir=out", *args
    )
    report_file = pytester.path / "out" / "conformance-report.json"
    verdicts: dict[str, str] = {}
    if report_file.exists():
        report = json.loads(report_file.read_text())
        verdicts = {r["id"]: r["verdict"] for r in report["requirements"] if r["verdict"] != "NOT_RUN"}
    log = Path(pytester.path / "log.jsonl")
    lines = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, verdicts, lines


EXPECTED = {"models.list.shape": "PASS", "models.retrieve.shape": "PASS", "rerank.sorted": "NOT_SUPPORTED",
            "chat.response.schema": "ERROR"}


def test_one_process_starts_the_send_before_the_first_test(pytester: pytest.Pytester) -> None:
    result, verdicts, log = _run(pytester)
    assert verdicts == EXPECTED
    whats = [entry["what"] for entry in log]
    assert whats.count("send starts") == 1                 # the undeclared test's send never starts
    send = next(e for e in log if e["what"] == "send starts")
    first = next(e for e in log if e["what"] == "first test")
    taken = next(e for e in log if e["what"] == "test takes it")
    assert str(send["thread"]).startswith("nexhina-early-test_c_waits")
    assert first["send_seen"] is True                        # in the background before the first test ended
    assert float(send["at"]) <= float(first["at"])
    assert send["base_url"] == "http://127.0.0.1:9/v1" and send["has_transport"] is True
    assert taken["value"] == "answer"
    assert "the send failed" in result.stdout.str()          # re-raised in its test: ERROR


def test_under_xdist_the_test_sends_inline(pytester: pytest.Pytester) -> None:
    _, verdicts, log = _run(pytester, "-p", "xdist", "-n", "2")
    assert verdicts == EXPECTED
    send = next(e for e in log if e["what"] == "send starts")
    assert not str(send["thread"]).startswith("nexhina-early")
    assert [e["what"] for e in log].count("send starts") == 1


def test_collect_only_starts_nothing(pytester: pytest.Pytester) -> None:
    result, _, log = _run(pytester, "--collect-only")
    assert result.ret == 0 and log == []


def test_a_mark_without_a_send_function_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sample='''
import pytest
@pytest.mark.requirements("models.list.shape")
@pytest.mark.early_start("not a function")
def test_x(started_early):
    pass
''')
    pytester.makefile(".toml", target=TARGET)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--nexhina-target=target.toml",
                                           "--nexhina-report-dir=out")
    assert "early_start takes send=" in result.stdout.str() + result.stderr.str()
    assert result.ret != 0
