"""Channel mode end to end (D115-D118): the relay lane through the channel the run creates.

The default run (no base URL) creates one channel serving ``nxc-<run id>-<capability>``,
its relay requests reach the scripted upstream through that channel only (the embedded
reference has no other route there), with the channel's key, and the channel is gone after
the run; without writes nothing is created and the relay lane is NOT_SUPPORTED; declared
``[models] relay_*`` win; a run interrupted (SIGINT) in the middle of the relay lane still
deletes its channel, and ``cleanup --run-id`` removes a channel a run left.
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
from conformance.config import RELAY_CAPABILITIES
from conformance.platform_client import PlatformClient, items_of
from conformance.plugin.state import STATE
from conformance.reference.app import Gateway, create_app
from conformance.reference.config import ReferenceConfig
from conformance.reference.platform_store import Channel
from conformance.reference.server import free_loopback_port, running_app, target_file_text
from conformance.upstream.app import UPSTREAM_MODELS

_RUN_INI = Path(__file__).resolve().parents[2] / "conformance" / "data" / "run.ini"
_RELAY_SUITES = ("conformance.suites.test_relay", "conformance.suites.test_relay_streaming",
                 "conformance.suites.test_relay_media")
#: The capabilities the channel serves in the default run (those the scripted upstream serves).
_SERVED = [cap for cap in RELAY_CAPABILITIES if cap in UPSTREAM_MODELS]


class _Watch:
    """A plugin that keeps what the run's process saw: upstream records, models, channels left."""

    def __init__(self) -> None:
        self.seen: dict[str, Any] = {}

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        state = session.config.stash[STATE]
        self.seen["models"] = dict(state.settings.models)
        self.seen["channel"] = state.channel
        target = state.target
        if target is not None and target.upstream is not None:
            self.seen["records"] = target.upstream.records.all()
            self.seen["upstream_key"] = target.upstream.config.key

    @pytest.hookimpl(tryfirst=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        state = config.stash[STATE]
        settings = state.target.settings if state.target is not None else None
        if settings is None or settings.platform.access_token is None or settings.platform.admin_access_token is None:
            return
        admin = PlatformClient(settings, settings.platform.admin_access_token)
        user = PlatformClient(settings, settings.platform.access_token)
        try:
            self.seen["channels_after"] = [c.get("name") for c in items_of(admin.data("GET", "/api/channel/"))]
            self.seen["logged_models"] = {log.get("model_name") for log in
                                          items_of(user.data("GET", "/api/log/self?p=1&page_size=100"))
                                          if isinstance(log, dict)}
        finally:
            admin.close()
            user.close()


def _default_run(report: Path, *extra: str) -> tuple[dict[str, Any], dict[str, Any], _Watch]:
    """The relay suites in the default run (embedded reference): (verdicts, report document, watch)."""
    watch = _Watch()
    args = ["-c", str(_RUN_INI), "--rootdir", str(report), "--pyargs", *_RELAY_SUITES,
            f"--nexhina-report-dir={report}", "-p", "no:allure_pytest", "-p", "no:randomly",
            "-p", "no:benchmark", "-q", *extra]
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = pytest.main(args, plugins=[watch])
    path = report / "conformance-report.json"
    assert path.exists(), f"exit {code}: {output.getvalue()[-3000:]}"
    document = json.loads(path.read_text(encoding="utf-8"))
    verdicts = {r["id"]: r for r in document["requirements"] if r["id"].startswith("relay.")}
    return verdicts, document, watch


def _channel_runs(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [run for run in document["run"]["platform_runs"] if "channel" in run]


def test_default_run_relays_through_the_channel_it_creates(tmp_path: Path) -> None:
    verdicts, document, watch = _default_run(tmp_path)
    assert verdicts and {r["verdict"] for r in verdicts.values()} == {"PASS"}
    (run,) = _channel_runs(document)
    run_id = run["run_id"]
    assert run["relay_models"] == {cap: f"nxc-{run_id}-{cap}" for cap in _SERVED}
    assert run["channel"] == f"nexhina-conformance-{run_id}-relay" and run["channel_problem"] is None
    assert run["deleted_at_end"] and run["leftovers"] == []
    # The relay suites read the channel's models: run-unique, one per relay capability.
    assert {k: v for k, v in watch.seen["models"].items() if k.startswith("relay_")} == {
        f"relay_{cap}": f"nxc-{run_id}-{cap}" for cap in _SERVED}
    # Every request the upstream got came through the channel (the reference's only route there),
    # with the channel's key; the gateway logged the run-unique models it served.
    records = [r for r in watch.seen["records"] if r.method == "POST"]
    assert records, "the scripted upstream received nothing"
    assert {r.headers.get("authorization") for r in records} == {f"Bearer {watch.seen['upstream_key']}"}
    assert {r.path for r in records} >= {"/v1/chat/completions", "/v1/responses", "/v1/embeddings",
                                         "/v1/moderations", "/v1/rerank", "/v1/images/generations",
                                         "/v1/audio/speech", "/v1/audio/transcriptions", "/v1/audio/translations"}
    assert {f"nxc-{run_id}-chat", f"nxc-{run_id}-embeddings"} <= watch.seen["logged_models"]
    # The channel is gone after the run.
    assert not [n for n in watch.seen["channels_after"] if str(n).startswith(f"nexhina-conformance-{run_id}")]
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert f"the run's channel nexhina-conformance-{run_id}-relay" in summary
    assert "sk-" not in json.dumps(run)


def test_without_writes_nothing_is_created_and_the_relay_lane_is_not_supported(tmp_path: Path) -> None:
    verdicts, document, watch = _default_run(tmp_path, "--nexhina-allow-writes=false")
    assert verdicts and {r["verdict"] for r in verdicts.values()} == {"NOT_SUPPORTED"}
    assert all("writes are off" in json.dumps(r) for r in verdicts.values())
    assert _channel_runs(document) == [] and watch.seen["channel"] is None
    # Not one management request: every relay test was gated before it started the target.
    assert not any(op.startswith(("POST /api/", "GET /api/")) for op in document["run"]["requests_by_operation"])


def test_declared_relay_models_win(tmp_path: Path) -> None:
    target = tmp_path / "target.toml"
    target.write_text('[models]\nrelay_chat = "relay-chat"\n', encoding="utf-8")
    verdicts, document, watch = _default_run(tmp_path, f"--nexhina-target={target}", "-k",
                                             "test_relay_chat or test_relay_embeddings")
    assert verdicts["relay.forwarding.chat"]["verdict"] == "PASS"
    assert verdicts["relay.forwarding.embeddings"]["verdict"] == "PASS"
    assert watch.seen["models"]["relay_chat"] == "relay-chat"
    (run,) = _channel_runs(document)
    assert "chat" not in run["relay_models"] and run["relay_models"]["embeddings"] == watch.seen["models"][
        "relay_embeddings"]
    every = "\n".join(f'relay_{cap} = "relay-chat"' for cap in RELAY_CAPABILITIES)
    target.write_text(f"[models]\n{every}\n", encoding="utf-8")
    (tmp_path / "all").mkdir()
    _, document, watch = _default_run(tmp_path / "all", f"--nexhina-target={target}", "-k", "test_relay_chat")
    assert _channel_runs(document) == [] and watch.seen["channel"] is None


# --------------------------------------------------------------------------- a remote target we can watch


class _SlowRelay:
    """ASGI wrapper: the first relayed chat once the run's channel exists signals ``reached`` and waits."""

    def __init__(self, app: ASGIApp, gateway: Gateway) -> None:
        self.app = app
        self.gateway = gateway
        self.reached = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if (scope["type"] == "http" and path.endswith("/chat/completions") and not self.reached.is_set()
                and _run_channels(self.gateway)):
            self.reached.set()
            time.sleep(1.0)   # blocks the server loop on purpose: the SIGINT lands meanwhile
        await self.app(scope, receive, send)


def _run_channels(gateway: Gateway) -> list[str]:
    return [c.name for c in gateway.store.channels.values() if c.name.startswith("nexhina-conformance-")]


@contextlib.contextmanager
def _watched_reference() -> Iterator[tuple[str, Gateway, _SlowRelay]]:
    inner = create_app(ReferenceConfig())
    gateway = inner.router.default
    assert isinstance(gateway, Gateway)
    slow = _SlowRelay(inner, gateway)
    with running_app(slow) as base_url:
        yield base_url, gateway, slow


def _relay_target(tmp_path: Path, base_url: str) -> Path:
    """The reference's target file with the relay feature and an [upstream], no relay model."""
    text = target_file_text(base_url, ReferenceConfig())
    text = text.replace("features = [", 'features = ["relay", ', 1)
    text += (f'\n[upstream]\nlisten = "127.0.0.1:{free_loopback_port()}"\nkey = "sk-nxc-e2e-channel"\n'
             "gateway_timeout = 2.0\n")
    path = tmp_path / "target.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_sigint_during_the_relay_lane_deletes_the_runs_channel(tmp_path: Path) -> None:
    with _watched_reference() as (base_url, gateway, slow):
        target = _relay_target(tmp_path, base_url)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-c", str(_RUN_INI), "--rootdir", str(tmp_path), "--pyargs",
             "conformance.suites.test_relay", f"--nexhina-base-url={base_url}", f"--nexhina-target={target}",
             f"--nexhina-report-dir={tmp_path}", "--nexhina-allow-writes=true", "-p", "no:allure_pytest",
             "-p", "no:randomly", "-p", "no:benchmark", "-q"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            assert slow.reached.wait(60), "the relay lane never sent a chat through the run's channel"
            (name,) = _run_channels(gateway)
            proc.send_signal(signal.SIGINT)
            output, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 2, output.decode(errors="replace")[-2000:]
        assert _run_channels(gateway) == []
    runs = json.loads((tmp_path / "platform-run.json").read_text(encoding="utf-8"))
    (run,) = [r for r in runs if r.get("channel") == name]
    assert run["deleted_at_end"] and run["leftovers"] == []


def test_cleanup_removes_a_channel_a_run_left(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with _watched_reference() as (base_url, gateway, _):
        store = gateway.store
        for name in ("nexhina-conformance-0101abcd-relay", "nexhina-conformance-0101ffff-relay"):
            channel_id = store.new_id("channel")
            store.channels[channel_id] = Channel(channel_id, name, models="nxc-x-chat")
        code = cli.main(["cleanup", "--run-id", "0101abcd", "--target", str(_relay_target(tmp_path, base_url))])
        assert code == 0, capsys.readouterr()
        assert _run_channels(gateway) == ["nexhina-conformance-0101ffff-relay"]
    assert "channel:" in capsys.readouterr().out


class _FailingChannelTest:
    """ASGI wrapper: every channel test answers ``success: false`` (the channel cannot serve)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "/api/channel/test/" in str(scope.get("path", "")):
            body = json.dumps({"success": False, "message": "upstream unreachable"}).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def test_a_channel_that_fails_its_test_makes_the_relay_lane_error_and_the_run_goes_on(tmp_path: Path) -> None:
    inner = create_app(ReferenceConfig())
    gateway = inner.router.default
    assert isinstance(gateway, Gateway)
    with running_app(_FailingChannelTest(inner)) as base_url:
        target = _relay_target(tmp_path, base_url)
        args = ["-c", str(_RUN_INI), "--rootdir", str(tmp_path), "--pyargs", "conformance.suites.test_relay",
                "conformance.suites.test_models", f"--nexhina-base-url={base_url}", f"--nexhina-target={target}",
                f"--nexhina-report-dir={tmp_path}", "--nexhina-allow-writes=true", "-p", "no:allure_pytest",
                "-p", "no:randomly", "-p", "no:benchmark", "-q"]
        with contextlib.redirect_stdout(io.StringIO()):
            pytest.main(args)
        assert _run_channels(gateway) == []
    document = json.loads((tmp_path / "conformance-report.json").read_text(encoding="utf-8"))
    verdicts = {r["id"]: r for r in document["requirements"]}
    # Never PASS (features not declared: NOT_SUPPORTED; the streaming suite not selected: NOT_RUN).
    relay = {rid: r for rid, r in verdicts.items() if rid.startswith("relay.")}
    assert "PASS" not in {r["verdict"] for r in relay.values()}
    chat = relay["relay.forwarding.chat"]
    assert chat["verdict"] == "ERROR"
    assert "testing the run's channel failed" in json.dumps(chat) and "upstream unreachable" in json.dumps(chat)
    assert verdicts["models.list.shape"]["verdict"] == "PASS"   # the run went on
    (run,) = _channel_runs(document)
    assert run["channel_problem"].startswith("testing the run's channel failed") and run["leftovers"] == []


def test_under_xdist_each_worker_relays_through_its_own_channel(tmp_path: Path) -> None:
    """D117: every worker's scripted upstream gets its own channel, named after the one run id."""
    with _watched_reference() as (base_url, gateway, _):
        target = _relay_target(tmp_path, base_url).read_text(encoding="utf-8")
        target = target.replace(target[target.index('listen = "'):target.index("\n", target.index('listen = "'))],
                                'listen = "127.0.0.1:0"')
        (tmp_path / "target.toml").write_text(target, encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-c", str(_RUN_INI), "--rootdir", str(tmp_path), "--pyargs",
             "conformance.suites.test_relay", f"--nexhina-base-url={base_url}",
             f"--nexhina-target={tmp_path / 'target.toml'}", f"--nexhina-report-dir={tmp_path}",
             "--nexhina-allow-writes=true", "-p", "xdist", "-n", "2", "-p", "no:allure_pytest",
             "-p", "no:randomly", "-p", "no:benchmark", "-q"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert _run_channels(gateway) == []
    document = json.loads((tmp_path / "conformance-report.json").read_text(encoding="utf-8"))
    assert document["requirements"], proc.stdout[-2000:]
    relay = {r["id"]: r["verdict"] for r in document["requirements"] if r["feature"] == "relay"
             and r["verdict"] != "NOT_RUN"}
    assert relay and set(relay.values()) == {"PASS"}, proc.stdout[-2000:]
    runs = _channel_runs(document)
    assert sorted(run["run_id"][-4:] for run in runs) == ["-gw0", "-gw1"]
    assert len({run["run_id"][:-4] for run in runs}) == 1 and all(not run["leftovers"] for run in runs)
