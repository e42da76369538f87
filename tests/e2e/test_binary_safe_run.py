"""Acceptance (issue 13, binary-safe outputs): a run against the reference with a declared
subset of features and a speech and a transcription fault.

The terminal output, junit.xml, the allure-results and the JSON report (and summary.md) are
valid UTF-8 with no byte below 0x20 other than tab, CR and LF; binary bodies (the WAV upload of
a transcription, the audio answer of a speech request) appear as their placeholder; the
multipart request replays with ``curl -F`` and a file saved under the report directory.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

from conformance.reference.config import ReferenceConfig
from conformance.reference.faults import parse_faults
from conformance.reference.server import running_reference, target_file_text

FAULTS = ("audio.speech.wav-parses@truncated", "audio.transcription.json")
FEATURES = '["models", "auth", "errors", "chat", "audio.speech", "audio.transcription"]'
CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
PLACEHOLDER = re.compile(r"<binary \d+ bytes, [a-z0-9.+/-]+, sha256 [0-9a-f]{12}>")


def clean_text(data: bytes, name: str) -> str:
    """The bytes as text, asserting they are UTF-8 without control bytes (bar tab, CR, LF)."""
    text = data.decode("utf-8")                       # raises on invalid UTF-8
    found = CONTROL.search(data)
    assert found is None, f"{name}: control byte {found.group()!r} at {found.start()}"
    return text


def test_outputs_are_text_and_binary_bodies_are_placeholders(tmp_path: Path) -> None:
    config = ReferenceConfig(faults=parse_faults(FAULTS))
    with running_reference(config) as base_url:
        text = target_file_text(base_url, config)
        start = text.index("features = [")
        text = text[:start] + "features = " + FEATURES + text[text.index("]", start) + 1:]
        target = tmp_path / "subset.toml"
        target.write_text(text, encoding="utf-8")
        report_dir = tmp_path / "report"
        proc = subprocess.run(
            [sys.executable, "-m", "conformance.cli", "run", "--report-dir", str(report_dir),
             "--target", str(target), "--", "-k", "not rate_limit"],
            cwd=tmp_path, capture_output=True, timeout=600, check=False,
        )
    terminal = clean_text(proc.stdout, "stdout") + clean_text(proc.stderr, "stderr")
    assert proc.returncode == 1, terminal[-3000:]

    outputs = [report_dir / "conformance-report.json", report_dir / "summary.md", report_dir / "junit.xml",
               *(p for p in (report_dir / "allure-results").iterdir() if p.is_file())]
    texts = {p.name: clean_text(p.read_bytes(), str(p)) for p in outputs}
    report = json.loads(texts["conformance-report.json"])
    verdicts = {r["id"]: r for r in report["requirements"]}
    for rid in ("audio.speech.wav-parses", "audio.transcription.json"):
        assert verdicts[rid]["verdict"] == "FAIL"

    # The audio answer and the WAV upload appear as placeholders, never as RIFF bytes.
    attachments = "\n".join(t for name, t in texts.items() if name.endswith("-attachment.txt"))
    assert PLACEHOLDER.search(terminal) or PLACEHOLDER.search(attachments)
    assert re.search(r"<binary \d+ bytes, audio/wav", attachments)
    assert "RIFF" not in terminal + attachments + texts["junit.xml"] + texts["conformance-report.json"]

    # The transcription failure replays with -F and a file saved under the report directory.
    curls = [e["curl"] for e in verdicts["audio.transcription.json"]["evidence"] if "curl" in e]
    assert curls and "-F" in shlex.split(curls[0])
    argv = shlex.split(curls[0])
    upload = next(a for a in argv if a.startswith("file=@")).removeprefix("file=@").split(";")[0]
    assert (report_dir / upload).read_bytes()[:4] == b"RIFF"
    assert (report_dir / "DECISIONS.md").is_file()
