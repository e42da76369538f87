"""Robustness: against hostile servers a run ends within its bounds, marks what was affected,
finishes the rest and writes complete reports.

Hostile behaviour comes from the reference's faults: engine faults (a stream that never ends,
stalls or drops; a truncated JSON body; a 50 MB body) and the wire faults of
``conformance.reference.wire`` (a chat completion that never answers, every connection reset,
every response an HTML 502), and from the raw hostile server (a target that never answers).
Every run here uses tight timeouts (seconds); ``python -m conformance.bench --hostile`` runs
the same cases once with the default timeouts. The run's bounds are tested here too: the
request budget shared by xdist workers and the whole-run deadline.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from conformance.reference.config import ReferenceConfig
from conformance.reference.faults import parse_faults
from conformance.reference.server import running_app, running_reference, target_file_text, wired_app
from tests.support.hostile_server import HostileServer

TIGHT = "read = 1.5\nstream = 2.0\nrequest = 3.0\n"


def _run(tmp_path: Path, target: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "run", "--target", str(target), "--report-dir",
         str(tmp_path / "report"), *extra],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )
    return proc, time.monotonic() - started


def _target(tmp_path: Path, base_url: str, config: ReferenceConfig, *, timeouts: str = TIGHT,
            budgets: str = "") -> Path:
    text = target_file_text(base_url, config).replace("[timeouts]\n", "[timeouts]\n" + timeouts, 1)
    if budgets:
        text = text.replace("max_requests = 2000\n", budgets, 1)
    target = tmp_path / "target.toml"
    target.write_text(text)
    return target


def _report(tmp_path: Path, *, tests_ran: bool = True) -> dict[str, Any]:
    # junit.xml is pytest's: written only when the session got as far as running tests.
    for name in ("summary.md", "junit.xml") if tests_ran else ("summary.md",):
        assert (tmp_path / "report" / name).stat().st_size > 0, name
    report: dict[str, Any] = json.loads((tmp_path / "report" / "conformance-report.json").read_text())
    return report


def _verdicts(report: dict[str, Any]) -> dict[str, str]:
    return {r["id"]: r["verdict"] for r in report["requirements"]}


STREAMED_CHAT = "POST /chat/completions (streamed)"
#: Areas whose tests send no chat completion: a chat fault must leave them PASS.
_NOT_CHAT = ("embeddings.", "images.", "models.", "rerank.", "video.", "audio.", "moderation.", "responses.")


@pytest.mark.parametrize(
    ("faults", "failed", "breaker"),
    [
        # Only plain chat streams are hostile; answered streams in between keep their breaker closed.
        (("chat.stream.framing@never-ends", "chat.response.schema@oversize"),
         {"chat.stream.framing", "chat.response.schema"}, None),
        (("chat.stream.framing@stall", "chat.response.schema@truncated-json"),
         {"chat.stream.framing", "chat.response.schema"}, None),
        (("chat.stream.framing@drop", "chat.response.schema@truncated-json"),
         {"chat.stream.framing", "chat.response.schema"}, None),
        (("hostile:chat-no-answer",), set(), "POST /chat/completions (not streamed)"),
    ],
    ids=["never-ends+50MB", "stall+truncated", "drop+truncated", "chat-no-answer"],
)
def test_hostile_answers_end_on_time_behind_a_breaker_and_the_rest_passes(
        tmp_path: Path, faults: tuple[str, ...], failed: set[str], breaker: str | None) -> None:
    config = ReferenceConfig(faults=parse_faults(faults))
    counting = _Counting(wired_app(config))
    with running_app(counting) as base_url:
        # One request at a time, so the count below is exact (no request in flight beside the two
        # that open the breaker).
        target = _target(tmp_path, base_url, config, budgets="max_requests = 2000\nconcurrency = 1\n")
        proc, elapsed = _run(tmp_path, target, "--", "-k", "not rate_limit")
    assert proc.returncode == (1 if failed else 3), proc.stdout[-2000:]
    # Each hostile exchange costs one bound; two in a row open the breaker and the rest ends at once.
    assert elapsed < (90 if breaker is None else 180)
    report = _report(tmp_path)
    verdicts = _verdicts(report)
    assert {rid for rid, v in verdicts.items() if v == "FAIL"} == failed
    errors = {rid for rid, v in verdicts.items() if v == "ERROR"}
    assert not any(rid.startswith(_NOT_CHAT) for rid in errors), errors
    opened = list(report["run"]["open_breakers"])
    if breaker is None:
        assert set(opened) <= {STREAMED_CHAT}
    else:
        assert opened == [breaker] and errors >= {"chat.minimal-request"}
        # Only the two requests that opened it went out, besides the preflight's model-rule probe
        # (D73; scripted, so it never counts for a breaker). The wall time depends on the load.
        assert counting.plain_chats == 2 + 1
        assert f"circuit breaker open: {breaker}" in proc.stdout
    assert verdicts["embeddings.schema"] == "PASS" and verdicts["models.list.shape"] == "PASS"


def test_a_target_that_never_answers_stops_the_run_within_the_read_bound(tmp_path: Path) -> None:
    with HostileServer() as server:
        target = tmp_path / "target.toml"
        target.write_text(f'[target]\nbase_url = "{server.url("never")}/v1"\napi_key = "k"\n'
                          '[models]\nchat = "m"\n[timeouts]\nread = 1.0\nrequest = 2.0\n')
        proc, elapsed = _run(tmp_path, target)
    assert proc.returncode == 3
    assert "cannot reach the target" in proc.stdout + proc.stderr
    assert elapsed < 30
    report = _report(tmp_path, tests_ran=False)
    assert report["run"]["stopped"].startswith("the run stopped before any test")
    assert set(_verdicts(report).values()) <= {"ERROR", "NOT_RUN"} and "ERROR" in _verdicts(report).values()


def test_every_connection_reset_is_error_with_every_report_written(tmp_path: Path) -> None:
    config = ReferenceConfig(faults=parse_faults(["hostile:reset"]))
    with running_reference(config) as base_url:
        proc, elapsed = _run(tmp_path, _target(tmp_path, base_url, ReferenceConfig()))
    assert proc.returncode == 3, proc.stdout[-2000:]
    assert elapsed < 30
    verdicts = _verdicts(_report(tmp_path, tests_ran=False))
    assert verdicts["chat.minimal-request"] == "ERROR" and "FAIL" not in verdicts.values()


def test_a_target_answering_html_502_everywhere_is_failed_and_reported(tmp_path: Path) -> None:
    config = ReferenceConfig(faults=parse_faults(["hostile:html-502"]))
    with running_reference(config) as base_url:
        proc, elapsed = _run(tmp_path, _target(tmp_path, base_url, ReferenceConfig()), "--profile", "core")
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert elapsed < 120
    report = _report(tmp_path)
    verdicts = {r["id"]: r["verdict"] for r in report["requirements"] if r["profile"] == "core"}
    assert verdicts["errors.no-server-error"] == "FAIL" and verdicts["chat.minimal-request"] == "FAIL"
    assert "ERROR" not in verdicts.values()  # a 502 is the server's answer, not trouble of ours
    assert report["profiles"]["core"]["result"] == "failure"
    assert report["run"]["open_breakers"] == {}


class _Counting:
    """An ASGI wrapper counting the requests that reach the reference (and the non-streamed chats)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.count = 0
        self.plain_chats = 0
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            with self._lock:
                self.count += 1
            if scope["method"] == "POST" and scope["path"].endswith("/chat/completions"):
                receive = self._peek(receive)
        await self.app(scope, receive, send)

    def _peek(self, receive: Receive) -> Receive:
        async def peeking() -> Message:
            message = await receive()
            body = message.get("body", b"") if message["type"] == "http.request" else None
            if body is not None and not message.get("more_body") and b'"stream": true' not in body \
                    and b'"stream":true' not in body:
                with self._lock:
                    self.plain_chats += 1
            return message
        return peeking


def test_one_request_budget_for_all_workers(tmp_path: Path) -> None:
    config = ReferenceConfig()
    counting = _Counting(wired_app(config))
    with running_app(counting) as base_url:
        target = _target(tmp_path, base_url, config, budgets="max_requests = 50\n")
        proc, _ = _run(tmp_path, target, "-n", "4")
    assert 1 <= counting.count <= 50, counting.count
    assert proc.returncode == 3, proc.stdout[-2000:]
    report = _report(tmp_path)
    assert report["run"]["requests_sent"] == counting.count
    assert sum(report["run"]["requests_by_operation"].values()) == counting.count
    assert "request budget of 50 requests is spent" in report["run"]["stopped"]
    verdicts = _verdicts(report)
    assert list(verdicts.values()).count("NOT_RUN") > len(verdicts) // 2
    assert "FAIL" not in verdicts.values()


def test_the_run_deadline_leaves_the_rest_not_run_and_exits_3(tmp_path: Path) -> None:
    config = ReferenceConfig(latency_ms=100)
    with running_reference(config) as base_url:
        proc, elapsed = _run(tmp_path, _target(tmp_path, base_url, config), "--max-duration", "4")
    assert proc.returncode == 3, proc.stdout[-2000:]
    assert elapsed < 30
    report = _report(tmp_path)
    assert "deadline of 4 s passed" in report["run"]["stopped"]
    assert "NOT_RUN" in _verdicts(report).values() and "FAIL" not in _verdicts(report).values()
    assert "stopped early:" in proc.stdout
