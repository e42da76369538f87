"""What a person sees: the rendered reports of a faulted run, opened in headless Chromium.

One run against the reference with ``chat.stream.done-sentinel`` broken on one model of two per
capability, run as a model matrix (and one clean run for the diff). The single-file Allure report is
rendered with ``nexhina-conformance report`` (Allure 3 from npm) and opened in Chromium
(``--headless --no-sandbox``); the assertions read the page text after the scripts ran (``--dump-dom``),
never the data embedded in the file: the requirement tree opens on the failed requirement
under its area, the counts per verdict, the FAIL's evidence and curl, each model's verdict on the
requirement's page, the test tree under its readable name and the model-by-area matrix of
summary.html. Screenshots go under the report directory (``screenshots/``).

Without Chromium or npx the browser tests skip with the reason, unless ``NEXHINA_BROWSER_REQUIRED``
is set (``.ci/run`` sets it): then a missing browser is a failure.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.allure_requirements import TESTS_GROUP
from conformance.reference.config import ReferenceConfig
from conformance.reference.server import running_reference, target_file_text

FAULT = "chat.stream.done-sentinel"
FAULTY_MODEL = "ref-chat-2"
#: The faulted run certifies every listed model (two per capability).
MATRIX = '\n[matrix]\nmodels = "all"\nimages = ["ref-image*"]\nvideo = ["ref-video*"]\n'
SELECTION = "chat and not properties"
REQUIRED_FLAG = "NEXHINA_BROWSER_REQUIRED"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@dataclass(frozen=True)
class Run:
    """One CLI run: its report directory, exit code and JSON report."""

    directory: Path
    code: int
    report: dict[str, object]


def _run(root: Path, name: str, model_faults: tuple[tuple[str, str], ...] = ()) -> Run:
    config = ReferenceConfig(models_per_capability=2 if model_faults else 1, model_faults=model_faults)
    report_dir = root / name
    with running_reference(config) as base_url:
        target = root / f"{name}.toml"
        target.write_text(target_file_text(base_url, ReferenceConfig()) + (MATRIX if model_faults else ""))
        proc = subprocess.run(
            [sys.executable, "-m", "conformance.cli", "run", "--report-dir", str(report_dir),
             "--target", str(target), "--", "-k", SELECTION, "-q"],
            cwd=root, capture_output=True, text=True, timeout=300, check=False,
        )
    path = report_dir / "conformance-report.json"
    assert path.exists(), proc.stdout[-2000:] + proc.stderr[-2000:]
    return Run(report_dir, proc.returncode, json.loads(path.read_text()))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Run, Run]]:
    """(clean run, faulted run) in one report root."""
    root = tmp_path_factory.mktemp("reports")
    yield _run(root, "clean"), _run(root, "fault", ((FAULTY_MODEL, FAULT),))


def _need(tool: str, found: str | None) -> str:
    if found is None:
        reason = f"{tool} is not installed (the browser test needs Debian's chromium and Node.js with npx)"
        if os.environ.get(REQUIRED_FLAG):
            pytest.fail(f"{reason}, and {REQUIRED_FLAG} is set")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def browser() -> str:
    """The Chromium executable (skip, or fail under the CI flag, when there is none)."""
    return _need("Chromium", next((p for b in BROWSERS if (p := shutil.which(b))), None))


def _chromium(
    browser: str, url: str, *, screenshot: Path | None = None, height: int = 1000, budget: int = 30000
) -> str:
    """The page's DOM after its scripts ran (or, with ``screenshot``, save a PNG of it)."""
    args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            f"--virtual-time-budget={budget}", f"--window-size=1400,{height}"]
    args += [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
    proc = subprocess.run([*args, url], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def rendered_dom(browser: str, url: str, marker: str, attempts: int = 5) -> str:
    """The DOM once the app has rendered ``marker`` (the data loads asynchronously: on a busy
    machine one dump can come before it; a later one, with a longer budget, after it)."""
    dom = ""
    for attempt in range(attempts):
        dom = _chromium(browser, url, budget=20000 * (attempt + 1))
        if marker in dom:
            return dom
    raise AssertionError(f"{url}: {marker!r} never rendered; last page text: {visible_text(dom)[:1000]}")


def visible_text(dom: str) -> str:
    """The text a person reads: no scripts, styles or tags, whitespace collapsed."""
    dom = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", dom)).split())


def tree_leaves(dom: str) -> list[tuple[str, str]]:
    """(result id, visible text) of every leaf of the rendered tree, top to bottom."""
    leaves = []
    for match in re.finditer(r'<button data-testid="tree-leaf"[^>]*?\bid="([0-9a-f]+)"(.*?)</button>', dom, re.S):
        leaves.append((match.group(1), visible_text(match.group(2).split(">", 1)[-1])))
    return leaves


@pytest.fixture(scope="module")
def rendered(runs: tuple[Run, Run], browser: str) -> Path:
    """The faulted run rendered to html/index.html (Allure 3 via npx)."""
    _need("npx", shutil.which("npx"))
    fault = runs[1].directory
    proc = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "report", str(fault)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return fault / "html" / "index.html"


def _counts(report: dict[str, object]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for req in report["requirements"]:  # type: ignore[attr-defined]
        counts[req["verdict"]] = counts.get(req["verdict"], 0) + 1
    return counts


def test_the_report_opens_on_the_failed_requirement_with_its_evidence(
    runs: tuple[Run, Run], rendered: Path, browser: str
) -> None:
    fault = runs[1]
    shots = fault.directory / "screenshots"
    shots.mkdir(exist_ok=True)
    dom = rendered_dom(browser, rendered.as_uri(), 'data-testid="tree-leaf"')
    text = visible_text(dom)
    # The requirement tree comes first, the test tree (by test module) stays reachable after it.
    assert "Requirements" in text and "test_chat_streaming" in text
    assert text.index("Requirements") < text.index(f"FAIL {FAULT}") < text.index("test_chat_streaming")
    assert TESTS_GROUP in text and "conformance.suites" not in text   # the test tree, by a readable name
    assert text.index(f"FAIL {FAULT}") < text.index(TESTS_GROUP) < text.index("test_chat_streaming")
    assert any(leaf.endswith("ms") and "test_chat_stream_basic" in leaf for _, leaf in tree_leaves(dom))
    # Counts per verdict on the Requirements node: failed, passed (PASS and WARN), skipped.
    counts = _counts(fault.report)
    passed = counts.get("PASS", 0) + counts.get("WARN", 0)
    skipped = counts.get("NOT_SUPPORTED", 0) + counts.get("NOT_RUN", 0)
    after = text[text.index("Requirements") + len("Requirements"):].split()
    assert after[:3] == [str(counts["FAIL"]), str(passed), str(skipped)], after[:10]
    # First leaf: the failed requirement, under its area (chat) and feature.
    leaves = tree_leaves(dom)
    first_id, first_text = leaves[0]
    assert first_text.startswith(f"1 FAIL {FAULT}:"), leaves[:3]  # "1": its position in the group
    assert text.index("chat") < text.index(f"FAIL {FAULT}")
    _chromium(browser, rendered.as_uri(), screenshot=shots / "overview.png")
    # Its page: the evidence and the curl that reproduces it, in the page text.
    page = visible_text(rendered_dom(browser, f"{rendered.as_uri()}#{first_id}", "reproduce with:"))
    assert f"requirement {FAULT}" in page and "Failed" in page
    evidence = fault.report["requirements"]
    entry = next(r for r in evidence if r["id"] == FAULT)["evidence"][0]  # type: ignore[attr-defined]
    assert f"expected {entry['expected']}" in page
    assert "reproduce with: curl -sS" in page
    assert "Bearer ********" in page
    # Each model's verdict on the requirement, as the page shows its parameters.
    assert f"model {FAULTY_MODEL} FAIL" in page and "model ref-chat PASS" in page
    _chromium(browser, f"{rendered.as_uri()}#{first_id}", screenshot=shots / "failed-requirement.png", height=2000)
    assert (shots / "overview.png").stat().st_size > 10_000


def test_the_summary_page_shows_the_matrix(runs: tuple[Run, Run], browser: str) -> None:
    fault = runs[1]
    page = visible_text(_chromium(browser, (fault.directory / "summary.html").as_uri()))
    counts = _counts(fault.report)
    order = ("FAIL", "ERROR", "WARN", "NOT_SUPPORTED", "NOT_RUN", "PASS")
    assert "total " + " ".join(str(counts.get(v, 0)) for v in order) in page
    assert f"Needs attention ({sum(n for v, n in counts.items() if v != 'PASS')}) FAIL {FAULT}" in page
    assert "reproduce with: curl -sS" in page
    # The model-by-area matrix: the faulted model fails chat, its sibling passes it.
    models = json.loads((fault.directory / "model-matrix.json").read_text())["models"]
    assert f"Models by area ({len(models)} models)" in page
    assert f"{FAULTY_MODEL} FAIL" in page and "ref-chat PASS" in page
    shots = fault.directory / "screenshots"
    shots.mkdir(exist_ok=True)
    _chromium(browser, (fault.directory / "summary.html").as_uri(), screenshot=shots / "summary.png")


def test_diff_of_a_clean_run_and_the_faulted_run_names_the_regression(runs: tuple[Run, Run]) -> None:
    clean, fault = runs
    assert clean.code == 0 and fault.code == 1
    proc = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "diff", str(clean.directory), str(fault.directory)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[1] == "regressions (PASS -> FAIL/ERROR): 1"
    assert lines[2].startswith(f"  {FAULT}: PASS -> FAIL")
    back = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "diff", str(fault.directory), str(clean.directory)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert back.returncode == 0 and f"  {FAULT}: FAIL -> PASS" in back.stdout


def test_a_missing_browser_skips_with_the_reason_unless_ci_requires_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRED_FLAG, raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium is not installed"):
        _need("Chromium", None)
    monkeypatch.setenv(REQUIRED_FLAG, "1")
    with pytest.raises(pytest.fail.Exception, match=f"and {REQUIRED_FLAG} is set"):
        _need("Chromium", None)
    assert _need("Chromium", "/usr/bin/chromium") == "/usr/bin/chromium"
