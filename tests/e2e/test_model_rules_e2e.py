"""Model rules end to end: the chat tests against the reference's reasoning model, which
refuses ``max_tokens`` and any ``temperature`` but 1. Learned by the preflight (or declared),
every request adapts: the chat requirements pass, the test about ``max_tokens`` is
NOT_SUPPORTED, never FAIL, and ``model-rules.json`` records the rules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.reference.config import ReferenceConfig
from conformance.reference.model_rules import REASONING_MODEL
from conformance.reference.server import running_reference, target_file_text

SELECT = ["--", "-q", "-p", "no:cacheprovider", "-k", "test_chat and not test_chat_stream"]
DECLARED = (f'\n[model_rules."{REASONING_MODEL}"]\ntoken_parameter = "max_completion_tokens"\n'
            "fixed = { temperature = 1 }\n")


def _run(tmp_path: Path, extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    with running_reference(ReferenceConfig(ruled_models=True)) as url:
        text = target_file_text(url, ReferenceConfig()).replace('chat = "ref-chat"', f'chat = "{REASONING_MODEL}"')
        (tmp_path / "t.toml").write_text(text + extra)
        proc = subprocess.run([sys.executable, "-m", "conformance.cli", "run", "--target", "t.toml",
                               "--report-dir", "out", *SELECT], cwd=tmp_path, capture_output=True, text=True,
                              timeout=600, check=False)
    report = json.loads((tmp_path / "out" / "conformance-report.json").read_text())
    return proc, {r["id"]: r["verdict"] for r in report["requirements"]}


@pytest.mark.parametrize(("extra", "source"), [("", "learned"), (DECLARED, "declared")], ids=["learned", "declared"])
def test_a_reasoning_model_is_tested_with_its_rules(tmp_path: Path, extra: str, source: str) -> None:
    proc, verdicts = _run(tmp_path, extra)
    failed = sorted(rid for rid, v in verdicts.items() if v in ("FAIL", "ERROR"))
    assert failed == [], proc.stdout[-3000:] + proc.stderr[-2000:]
    assert verdicts["chat.max-tokens-length"] == "NOT_SUPPORTED"
    assert verdicts["chat.response.schema"] == "PASS"
    rules = json.loads((tmp_path / "out" / "model-rules.json").read_text())
    assert rules[REASONING_MODEL]["token_parameter"] == "max_completion_tokens"
    assert rules[REASONING_MODEL]["source"] == source
    assert f"model rules of {REASONING_MODEL}" in proc.stdout
