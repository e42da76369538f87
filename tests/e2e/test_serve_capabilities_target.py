"""`serve --capabilities ... --write-target FILE`: the file declares only the served capabilities.

The reference is started as a user starts it (the CLI, port 0), serving embeddings only; the
target file it writes names only that capability's model and features (no chat-driven key or
limit features), and a run against it has no FAIL or ERROR.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import tomllib

from conformance.reference.config import ReferenceConfig
from conformance.reference.server import served_features


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, check=False)


def _free_port() -> int:
    """A free loopback port for the scripted upstream (8777, the default, may be taken)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_served_features_keep_only_the_served_capabilities() -> None:
    every = served_features(ReferenceConfig())
    chat = served_features(ReferenceConfig(capabilities=frozenset({"chat"})))
    assert "embeddings" in every and "audio.speech" in every
    assert "chat.streaming" in chat and "rate-limit" in chat
    assert not {"embeddings", "audio.speech", "images", "images.url", "responses.streaming"} & set(chat)


def test_serve_with_capabilities_writes_a_target_of_only_those(tmp_path: Path) -> None:
    target = tmp_path / "target.toml"
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "conformance.cli", "serve", "--port", "0", "--capabilities", "embeddings",
              "--write-target", str(target), "--upstream", f"http://127.0.0.1:{_free_port()}/v1"],
            stdout=sink, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not target.exists() and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert target.exists(), log.read_text()
        document = tomllib.loads(target.read_text())
        assert document["models"] == {"embeddings": "ref-embed", "relay_embeddings": "relay-embed"}
        features = set(document["target"]["features"])
        assert {"embeddings", "relay.embeddings", "models", "auth", "errors"} <= features
        assert not {f for f in features if f.split(".")[0] in ("chat", "responses", "audio", "images", "video",
                                                                "moderation", "rerank")}
        assert not {f for f in features if f.startswith("relay") and f != "relay.embeddings"}
        assert not {"rate-limit", "body-limit", "determinism", "auth.expired-key"} & features
        run = _cli(tmp_path, "run", "--target", str(target), "--report-dir", "report", "--", "-q")
    finally:
        server.terminate()
        server.wait(timeout=30)
    report = json.loads((tmp_path / "report" / "conformance-report.json").read_text())
    bad = {r["id"]: r["verdict"] for r in report["requirements"] if r["verdict"] in ("FAIL", "ERROR")}
    assert bad == {}, run.stdout[-3000:]
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
