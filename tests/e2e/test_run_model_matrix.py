"""The model matrix end to end: ``--models all`` against a reference serving 5 models per
capability reports 5 rows per capability; a fault scoped to one model fails only its row;
3 shards plus `merge` give the same per-(model, requirement) verdicts as one run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conformance.reference.config import ReferenceConfig
from conformance.reference.models import MODELS
from conformance.reference.server import running_reference, target_file_text

FAULTY = "ref-chat-3"
FAULT = "chat.response.assistant-role"
SELECT = ["--", "-q", "-p", "no:cacheprovider", "-k", "not test_properties"]
MATRIX = '\n[matrix]\nmodels = "all"\nimages = ["ref-image*"]\nvideo = ["ref-video*"]\n'


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, check=False)


def _matrix(directory: Path) -> dict[str, dict[str, object]]:
    models = json.loads((directory / "model-matrix.json").read_text())["models"]
    assert isinstance(models, dict)
    return models


def test_five_models_per_capability_and_a_fault_scoped_to_one(tmp_path: Path) -> None:
    config = ReferenceConfig(models_per_capability=5, model_faults=((FAULTY, FAULT),))
    with running_reference(config) as url:
        (tmp_path / "t.toml").write_text(target_file_text(url, ReferenceConfig()) + MATRIX)
        whole = _cli(tmp_path, "run", "--target", "t.toml", "--report-dir", "whole", *SELECT)
        for k in (1, 2, 3):
            part = _cli(tmp_path, "run", "--target", "t.toml", "--shard", f"{k}/3", "--report-dir", f"s{k}", *SELECT)
            assert part.returncode in (0, 1), part.stdout[-2000:] + part.stderr[-2000:]
    assert whole.returncode == 1, whole.stdout[-2000:] + whole.stderr[-2000:]
    models = _matrix(tmp_path / "whole")
    for base in set(MODELS.values()):
        assert [m for m in models if m == base or m.startswith(base + "-")] == [
            base, *(f"{base}-{i}" for i in range(2, 6))]
    failing = {m for m, row in models.items() if row["overall"] != "PASS"}
    assert failing == {FAULTY}
    assert models[FAULTY]["requirements"][FAULT] == "FAIL"  # type: ignore[index]
    report = json.loads((tmp_path / "whole" / "conformance-report.json").read_text())
    failed = {r["id"] for r in report["requirements"] if r["verdict"] == "FAIL"}
    assert failed == {FAULT}
    assert "## Model matrix" in (tmp_path / "whole" / "summary.md").read_text()
    merged = _cli(tmp_path, "merge", "merged", "s1", "s2", "s3")
    assert merged.returncode == 1, merged.stdout + merged.stderr
    assert _matrix(tmp_path / "merged") == models
    for directory in ("whole", "merged"):   # the model-by-area table of the HTML summary, both ways
        page = (tmp_path / directory / "summary.html").read_text()
        assert f"Models by area ({len(models)} models)" in page
        assert f'<tr><td><code>{FAULTY}</code></td><td class="FAIL">FAIL</td>' in page
    same = _cli(tmp_path, "diff", "whole", "merged")   # per (model, requirement): nothing changed
    assert same.returncode == 0 and "regressions (PASS -> FAIL/ERROR): 0" in same.stdout, same.stdout
