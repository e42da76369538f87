"""The platform lane end to end against a reference we can watch (D51, D55).

Without ``--allow-writes`` no request other than GET reaches a management path and the write
requirements are NOT_SUPPORTED with that reason; a target without ``[platform]`` gets no
management request at all; a run interrupted (SIGINT) in the middle of the write scenarios
leaves nothing named after it on the reference; ``cleanup --run-id`` deletes what a run left.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from conformance import cli
from conformance.reference.app import Gateway, create_app
from conformance.reference.config import ReferenceConfig
from conformance.reference.server import running_app, target_file_text

_RUN_INI = Path(__file__).resolve().parents[2] / "conformance" / "data" / "run.ini"
_SUITES = ("conformance.suites.test_platform", "conformance.suites.test_platform_writes")


@contextlib.contextmanager
def reference(app: ASGIApp | None = None) -> Iterator[tuple[str, Gateway]]:
    """A reference on loopback: its base URL and its gateway (store and request counter)."""
    inner = create_app(ReferenceConfig())
    gateway = inner.router.default
    assert isinstance(gateway, Gateway)
    with running_app(app(inner) if callable(app) else inner) as base_url:  # type: ignore[operator]
        yield base_url, gateway


def _target(tmp_path: Path, base_url: str, *, platform: bool = True) -> Path:
    text = target_file_text(base_url, ReferenceConfig())
    if not platform:
        text = text.split("# The management API")[0]
        text = "\n".join(line for line in text.splitlines() if not line.startswith("features = "))
        text = text.replace("[target]\n", '[target]\nfeatures = ["models", "chat", "auth", "errors"]\n', 1)
    path = tmp_path / "target.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(base_url: str, target: Path, report: Path, *extra: str) -> dict[str, str]:
    args = ["-c", str(_RUN_INI), "--rootdir", str(report), "--pyargs", *_SUITES, f"--nexhina-base-url={base_url}",
            f"--nexhina-target={target}", f"--nexhina-report-dir={report}", "-p", "no:allure_pytest",
            "-p", "no:randomly", "-p", "no:benchmark", "-q", *extra]
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = pytest.main(args)
    path = report / "conformance-report.json"
    assert path.exists(), f"exit {code}: {output.getvalue()[-3000:]}"
    document = json.loads(path.read_text(encoding="utf-8"))
    return {r["id"]: r["verdict"] for r in document["requirements"] if r["id"].startswith("platform.")}


def _management_writes(gateway: Gateway) -> dict[str, int]:
    return {m: n for (m, kind), n in gateway.requests.items() if kind == "management" and m != "GET"}


def test_without_allow_writes_no_write_is_sent(tmp_path: Path) -> None:
    with reference() as (base_url, gateway):
        verdicts = _run(base_url, _target(tmp_path, base_url), tmp_path)
        assert _management_writes(gateway) == {}
        assert gateway.requests[("GET", "management")] > 0
    report = json.loads((tmp_path / "conformance-report.json").read_text(encoding="utf-8"))
    writes = [r for r in report["requirements"] if r["feature"] in ("platform.writes", "platform.admin")
              and r["id"] not in ("platform.schema", "platform.envelope")]
    assert writes and all(verdicts[r["id"]] == "NOT_SUPPORTED" for r in writes)
    assert verdicts["platform.logs.calls"] == "PASS"
    assert "--allow-writes" in json.dumps(report)


def test_without_platform_section_nothing_goes_to_management(tmp_path: Path) -> None:
    with reference() as (base_url, gateway):
        verdicts = _run(base_url, _target(tmp_path, base_url, platform=False), tmp_path, "--nexhina-allow-writes=true")
        assert sum(n for (_, kind), n in gateway.requests.items() if kind == "management") == 0
    assert verdicts and set(verdicts.values()) == {"NOT_SUPPORTED"}


class _SlowKeyReveal:
    """ASGI wrapper: the first key reveal signals ``reached`` and waits, so a test can interrupt."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.reached = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and path.endswith("/key") and not self.reached.is_set():
            self.reached.set()
            time.sleep(1.0)   # blocks the server loop on purpose: the SIGINT lands meanwhile
        await self.app(scope, receive, send)


def _run_names(gateway: Gateway) -> list[str]:
    store = gateway.store
    names = [t.name for t in store.tokens.values()] + [c.name for c in store.codes.values()]
    names += [c.name for c in store.channels.values()]
    return [n for n in names if n.startswith(("nexhina-conformance-", "nxc-"))]


def test_sigint_during_writes_leaves_nothing_behind(tmp_path: Path) -> None:
    holder: dict[str, Any] = {}

    def wrap(app: ASGIApp) -> ASGIApp:
        holder["slow"] = _SlowKeyReveal(app)
        return holder["slow"]  # type: ignore[no-any-return]

    with reference(wrap) as (base_url, gateway):  # type: ignore[arg-type]
        target = _target(tmp_path, base_url)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-c", str(_RUN_INI), "--rootdir", str(tmp_path), "--pyargs",
             "conformance.suites.test_platform_writes", f"--nexhina-base-url={base_url}",
             f"--nexhina-target={target}", f"--nexhina-report-dir={tmp_path}", "--nexhina-allow-writes=true",
             "-p", "no:allure_pytest", "-p", "no:randomly", "-q"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            assert holder["slow"].reached.wait(60), "the write scenarios never revealed a key"
            assert _run_names(gateway), "nothing of the run existed when it was interrupted"
            proc.send_signal(signal.SIGINT)
            output, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 2, output.decode(errors="replace")[-2000:]
        assert _run_names(gateway) == []


def test_cleanup_removes_what_a_run_left(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with reference() as (base_url, gateway):
        gateway.store.add_token(1, "nexhina-conformance-0101abcd-left")
        gateway.store.add_token(1, "nexhina-conformance-0101ffff-other-run")
        code = cli.main(["cleanup", "--run-id", "0101abcd", "--target", str(_target(tmp_path, base_url))])
        assert code == 0, capsys.readouterr()
        assert _run_names(gateway) == ["nexhina-conformance-0101ffff-other-run"]
    assert "deleted 1 object(s): token:" in capsys.readouterr().out
