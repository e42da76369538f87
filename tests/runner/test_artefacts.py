"""What a run leaves beside its reports: DECISIONS.md (shipped as package data, D32) and the
uploads its curl lines name (D31)."""

from __future__ import annotations

import fnmatch
import re
import shlex
import sys
from pathlib import Path

import httpx

from conformance.artefacts import copy_decisions, decisions_path, save_uploads
from conformance.messages import violation_text
from conformance.model import Exchange, Level, Requirement, Violation

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def test_decisions_md_is_package_data() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["conformance"]
    packaged = ROOT / "conformance" / "_openapi" / "DECISIONS.md"
    assert packaged.is_file()                   # through the _openapi -> ../openapi symlink
    relative = packaged.relative_to(ROOT / "conformance").as_posix()
    assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns)


def test_the_copy_resolves_every_decision_a_message_cites(tmp_path: Path) -> None:
    copy = copy_decisions(tmp_path / "report")
    assert copy.read_bytes() == decisions_path().read_bytes()
    anchors = set(re.findall(r'<a id="(d\d+)"></a>', copy.read_text(encoding="utf-8")))
    requirement = Requirement("errors.malformed-json", Level.MUST, "errors", "core", "400", ("D5", "D30"))
    text = violation_text(requirement, Violation(requirement.id, "HTTP 400", "no HTTP status"), None)
    cited = re.findall(r"DECISIONS\.md#(d\d+)", text)
    assert cited == ["d5", "d30"] and set(cited) <= anchors


def test_uploads_land_where_the_curl_line_points(tmp_path: Path) -> None:
    request = httpx.Request("POST", "http://gw.test/v1/audio/transcriptions",
                            files={"file": ("tiny.wav", b"RIFF\x00\x01WAVE", "audio/wav"), "model": (None, "m")})
    request.read()
    exchange = Exchange("POST", str(request.url), dict(request.headers), request.content, 400)
    [written] = save_uploads(tmp_path, [exchange, exchange])
    line = shlex.split(exchange.curl())
    form = line[line.index("-F") + 1]
    assert form.startswith("file=@") and (tmp_path / form[len("file=@"):].split(";")[0]) == written
    assert written.read_bytes() == b"RIFF\x00\x01WAVE"
