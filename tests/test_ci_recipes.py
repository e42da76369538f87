"""The CI recipes in examples/ci/: they parse, and every command they run exists.

``nexhina-conformance`` lines are parsed by the CLI's own argument parser (a renamed option
or sub-command breaks this test, not a user's nightly job); other commands must be on PATH
here or be ones the recipe's image provides. Each recipe runs against secrets, keeps a
baseline, fails on regressions and publishes junit.xml and the HTML report.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest
import yaml

from conformance.cli import _parser

RECIPES = Path(__file__).resolve().parents[1] / "examples" / "ci"
#: Shell built-ins the recipes use (not on PATH as programs).
BUILTINS = {"cd", "set", "export"}


def _github_scripts(doc: dict[str, object]) -> list[str]:
    jobs = doc["jobs"]
    assert isinstance(jobs, dict)
    return [str(step["run"]) for job in jobs.values() for step in job["steps"] if "run" in step]


def _gitlab_scripts(doc: dict[str, object]) -> list[str]:
    job = doc["nexhina-conformance"]
    assert isinstance(job, dict)
    return [str(line) for key in ("before_script", "script", "after_script") for line in job.get(key, [])]


def _load(name: str) -> dict[str, object]:
    doc = yaml.safe_load((RECIPES / name).read_text())
    assert isinstance(doc, dict)
    return doc


def _commands(script: str) -> list[list[str]]:
    """The simple commands of a script line (split on &&, ||, ;, |)."""
    commands: list[list[str]] = []
    current: list[str] = []
    lexer = shlex.shlex(script.replace("\n", " "), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    for token in lexer:
        if token in ("&&", "||", ";", "|"):
            commands.append(current)
            current = []
        elif token not in (">>", ">", "2>"):
            current.append(token)
    commands.append(current)
    return [c for c in commands if c]


@pytest.mark.parametrize(
    ("name", "scripts"), [("github-actions.yml", _github_scripts), ("gitlab-ci.yml", _gitlab_scripts)]
)
def test_every_command_of_the_recipe_exists(name: str, scripts: object) -> None:
    doc = _load(name)
    lines = scripts(doc)  # type: ignore[operator]
    seen: list[str] = []
    for line in lines:
        for command in _commands(line):
            program = command[0]
            seen.append(program)
            if program == "nexhina-conformance":
                try:
                    _parser().parse_args(command[1:])
                except SystemExit as exc:
                    pytest.fail(f"{name}: `{shlex.join(command)}` is not a valid command line ({exc})")
            elif program not in BUILTINS and program != "apt-get":  # apt-get: the recipe's Debian image has it
                assert shutil.which(program), f"{name}: {program} is not a command"
    assert "nexhina-conformance" in seen


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_the_recipe_uses_secrets_a_baseline_and_publishes_the_reports(name: str) -> None:
    text = (RECIPES / name).read_text()
    doc = _load(name)
    lines = _github_scripts(doc) if name.startswith("github") else _gitlab_scripts(doc)
    runs = [c for line in lines for c in _commands(line) if c[:2] == ["nexhina-conformance", "run"]]
    assert len(runs) == 1
    args = _parser().parse_args(runs[0][1:])
    assert args.baseline and args.compare and args.report_dir
    assert args.base_url is None and args.api_key is None  # from the environment, i.e. the secrets
    assert "NEXHINA_BASE_URL" in text and "NEXHINA_API_KEY" in text and "sk-" not in text
    assert f"{args.report_dir}/junit.xml" in text and f"{args.report_dir}/html/index.html" in text
    assert any(c[:2] == ["nexhina-conformance", "report"] for line in lines for c in _commands(line))


def test_the_github_workflow_publishes_even_when_the_run_fails() -> None:
    doc = _load("github-actions.yml")
    assert True in doc or "on" in doc  # YAML 1.1 reads the `on:` key as True
    steps = doc["jobs"]["conformance"]["steps"]  # type: ignore[index]
    after_run = steps[[i for i, s in enumerate(steps) if "nexhina-conformance run" in str(s.get("run"))][0] + 1:]
    assert after_run and all(s.get("if") == "always()" for s in after_run)
    assert any(str(s.get("uses", "")).startswith("actions/upload-artifact@") for s in after_run)


def test_the_gitlab_job_reports_junit_and_keeps_the_baseline_in_its_cache() -> None:
    job = _load("gitlab-ci.yml")["nexhina-conformance"]
    assert job["artifacts"]["when"] == "always"  # type: ignore[index]
    assert job["artifacts"]["reports"]["junit"] == "reports/current/junit.xml"  # type: ignore[index]
    assert "reports/previous/" in job["cache"]["paths"] and job["cache"]["when"] == "always"  # type: ignore[index]


def test_both_recipes_keep_the_generated_property_cases_between_runs() -> None:
    steps = _load("github-actions.yml")["jobs"]["conformance"]["steps"]  # type: ignore[index]
    cached = [s["with"]["path"] for s in steps if str(s.get("uses", "")).startswith("actions/cache/")]
    assert len(cached) == 2 and all("~/.cache/nexhina-conformance" in paths for paths in cached)
    job = _load("gitlab-ci.yml")["nexhina-conformance"]
    assert job["variables"]["XDG_CACHE_HOME"] == "$CI_PROJECT_DIR/.cache"  # type: ignore[index]
    assert ".cache/nexhina-conformance/" in job["cache"]["paths"]  # type: ignore[index]
