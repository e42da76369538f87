"""`conformance.discover` and ``nexhina-conformance init``: what a first run finds out.

Against the reference, `init` writes a target file with which a run has no FAIL or ERROR;
against a reference routing only chat it declares only chat (and the gateway-wide models,
auth and errors); paid capabilities are never probed unless asked; a run with a URL and no
target file says what to do and lists the offered models.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.config import resolve
from conformance.discover import candidates, discover, probe_settings, render_target_file
from conformance.errors import ConfigError
from conformance.reference.config import DEFAULT_API_KEY, ReferenceConfig
from conformance.reference.server import running_reference
from conformance.target import model_options, resolve_settings
from conformance.transport import Transport

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENV = {"NEXHINA_API_KEY": DEFAULT_API_KEY}


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance.cli", *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, check=False, env={**_environ(), **ENV})


def _environ() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("NEXHINA_")}


def test_candidates_put_name_hints_first() -> None:
    assert candidates("embeddings", ["a-chat", "b-embed", "c"]) == ["b-embed", "a-chat", "c"]


def test_paid_capabilities_are_only_suggested_without_probe_paid() -> None:
    with running_reference(ReferenceConfig()) as url, Transport(probe_settings(url, None, ENV, 60)) as transport:
        found = discover(transport)
        sent = [e.url for e in transport.history]
    assert "images" not in found.models and "video" not in found.models
    assert found.suggested == {"images": "ref-image", "video": "ref-video"}
    assert not any("/images/" in u or "/video/" in u for u in sent)
    text = render_target_file(found)
    assert '# images = "ref-image"   # GUESSED' in text
    assert DEFAULT_API_KEY not in text


def test_probe_paid_declares_images_and_video() -> None:
    with running_reference(ReferenceConfig()) as url, Transport(probe_settings(url, None, ENV, 60)) as transport:
        found = discover(transport, probe_paid=True)
    assert found.models["images"] == "ref-image" and found.models["video"] == "ref-video"
    assert {"images", "images.url", "video"} <= set(found.features)


def test_chat_only_reference_declares_only_chat_and_models() -> None:
    config = ReferenceConfig(capabilities=frozenset({"chat"}))
    with running_reference(config) as url, Transport(probe_settings(url, None, ENV, 60)) as transport:
        found = discover(transport, probe_paid=True)
    assert found.listed == ["ref-chat"]
    assert found.models == {"chat": "ref-chat"}
    assert {f for f in found.features if not f.startswith("chat.")} == {"models", "auth", "errors", "chat"}
    layer = tomllib.loads(render_target_file(found))
    resolve({}, ENV, layer)  # the written file is a valid target file


def test_the_request_budget_bounds_the_probing() -> None:
    with running_reference(ReferenceConfig()) as url, Transport(probe_settings(url, None, ENV, 3)) as transport:
        found = discover(transport)
    assert found.requests == 3
    assert any("request budget" in note for note in found.notes)


def test_init_then_run_has_no_fail_or_error(tmp_path: Path) -> None:
    with running_reference(ReferenceConfig()) as url:
        init = _cli(tmp_path, "init", "--base-url", url, "-o", "target.toml")
        assert init.returncode == 0, init.stderr
        run = _cli(tmp_path, "run", "--target", "target.toml", "--report-dir", "report")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads((tmp_path / "report" / "conformance-report.json").read_text())
    bad = {r["id"]: r["verdict"] for r in report["requirements"] if r["verdict"] in ("FAIL", "ERROR")}
    assert bad == {}
    assert DEFAULT_API_KEY not in (tmp_path / "target.toml").read_text()


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    (tmp_path / "target.toml").write_text("# mine\n")
    proc = _cli(tmp_path, "init", "--base-url", "http://127.0.0.1:9/v1", "-o", "target.toml")
    assert proc.returncode == 4 and "--force" in proc.stderr
    assert (tmp_path / "target.toml").read_text() == "# mine\n"


def test_a_run_with_only_url_and_key_says_what_to_do_and_lists_models() -> None:
    with running_reference(ReferenceConfig()) as url, pytest.raises(ConfigError) as caught:
        resolve_settings({"base_url": url}, ENV)
    message = str(caught.value)
    assert "built-in default of target.features" in message
    assert "nexhina-conformance init --base-url" in message and "--model chat=NAME" in message
    assert "ref-chat, ref-embed" in message
    assert "embedded reference" not in message


def test_model_option_completes_a_first_run() -> None:
    settings = resolve_settings({"base_url": "http://127.0.0.1:9/v1", **model_options(["chat=m1"])}, ENV)
    assert settings.models["chat"] == "m1" and settings.sources["models.chat"] == "cli"


@pytest.mark.parametrize("spec", ["chat", "nope=m", "chat="])
def test_bad_model_option_is_a_config_error(spec: str) -> None:
    with pytest.raises(ConfigError, match="CAPABILITY=NAME"):
        model_options([spec])


def test_errors_name_the_command_line_and_environment() -> None:
    with pytest.raises(ConfigError, match="CLI option '--base-url'"):
        resolve_settings({"base_url": "ftp://x"}, {})
    with pytest.raises(ConfigError, match="environment variable NEXHINA_FEATURES"):
        resolve_settings({"base_url": "http://127.0.0.1:9/v1"}, {"NEXHINA_FEATURES": "chat"})
