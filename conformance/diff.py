"""What changed between two conformance runs: regressions first, then fixes, WARNs, NOT_SUPPORTED.

Input is two conformance reports (a report directory or its ``conformance-report.json``);
output is a :class:`RunDiff` rendered as text or Markdown. Requirements are compared per
requirement id, and per (model, requirement id) once a report's requirement entries carry a
``model`` or its directory holds ``model-matrix.json`` (the per-model verdicts of a matrix run).
A report of a schema version this module does not know is refused with the reason
(:class:`ReportVersionError`), never half-read. Nothing here talks to a server.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from conformance.errors import ConformanceError

REPORT_FILE = "conformance-report.json"
#: The per-model verdicts of a model-matrix run, beside the JSON report (``model_matrix.MATRIX_FILE``).
MATRIX_FILE = "model-matrix.json"
#: Where `load_report` puts the per-model entries read from MATRIX_FILE (not a report field).
_MODEL_ENTRIES = "_model_entries"

#: Schema versions of conformance-report.json this module reads (see the schema's history).
READABLE_VERSIONS: frozenset[int] = frozenset({1, 2, 3})

_BROKEN = frozenset({"FAIL", "ERROR"})


class ReportVersionError(ConformanceError):
    """A file is not a conformance report, or one of a schema version this suite cannot read."""


@dataclass(frozen=True)
class Change:
    """One requirement whose verdict differs between the two runs."""

    requirement: str
    old: str  # "ABSENT" when the requirement is not in that report
    new: str
    model: str = ""
    detail: str = ""  # the new run's first evidence, one line

    @property
    def key(self) -> str:
        """How the change is named: ``id`` or ``model: id``."""
        return f"{self.model}: {self.requirement}" if self.model else self.requirement


@dataclass
class RunDiff:
    """The changes from OLD to NEW, sorted into the sections a reader acts on."""

    old: str
    new: str
    regressions: list[Change] = field(default_factory=list)
    fixes: list[Change] = field(default_factory=list)
    new_warns: list[Change] = field(default_factory=list)
    not_supported: list[Change] = field(default_factory=list)
    other: list[Change] = field(default_factory=list)

    def sections(self) -> list[tuple[str, list[Change]]]:
        """(title, changes) in reading order: regressions first."""
        return [
            ("regressions (PASS -> FAIL/ERROR)", self.regressions),
            ("fixes (FAIL/ERROR -> PASS)", self.fixes),
            ("new WARNs", self.new_warns),
            ("NOT_SUPPORTED changes", self.not_supported),
            ("other changes", self.other),
        ]

    @property
    def exit_code(self) -> int:
        """1 when anything regressed, else 0."""
        return 1 if self.regressions else 0


def report_path(path: Path) -> Path:
    """The JSON file behind ``path`` (a report directory or the file itself)."""
    return path / REPORT_FILE if path.is_dir() else path


def load_report(path: Path) -> dict[str, object]:
    """Read a conformance report and check its schema version.

    Raises:
        ReportVersionError: the file is missing, not JSON, not a report, or of an unknown version.
    """
    file = report_path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ReportVersionError(f"{file}: no conformance report there (run `nexhina-conformance run` first)") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportVersionError(f"{file}: not a readable JSON report ({exc})") from exc
    if not isinstance(data, dict) or "requirements" not in data:
        raise ReportVersionError(f"{file}: not a conformance report (no requirements list)")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ReportVersionError(
            f"{file}: no integer schema_version, so its shape is unknown; this suite reads schema versions "
            f"{_versions()}"
        )
    if version not in READABLE_VERSIONS:
        newer = version > max(READABLE_VERSIONS)
        raise ReportVersionError(
            f"{file}: report schema_version {version} is "
            + ("newer than this suite knows (upgrade nexhina-conformance to compare it)" if newer else "not readable")
            + f"; this suite reads schema versions {_versions()}"
        )
    data[_MODEL_ENTRIES] = _model_entries(file.parent / MATRIX_FILE)
    return data


def _model_entries(path: Path) -> list[dict[str, object]]:
    """``{"model", "id", "verdict"}`` per (model, requirement) of the matrix file at ``path``
    (none when there is no such file: a run without a model matrix).

    Raises:
        ReportVersionError: the file exists but is not a model matrix.
    """
    if not path.is_file():
        return []
    try:
        models = json.loads(path.read_text(encoding="utf-8"))["models"]
        return [{"model": str(model), "id": str(rid), "verdict": str(verdict)}
                for model, row in models.items() for rid, verdict in row["requirements"].items()]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ReportVersionError(f"{path}: not a readable model matrix ({exc})") from exc


def _versions() -> str:
    return ", ".join(str(v) for v in sorted(READABLE_VERSIONS))


def _entries(report: Mapping[str, object]) -> dict[tuple[str, str], Mapping[str, object]]:
    requirements = report["requirements"]
    assert isinstance(requirements, list)
    entries = {(str(r.get("model") or ""), str(r["id"])): r for r in requirements}
    models = report.get(_MODEL_ENTRIES) or []
    assert isinstance(models, list)
    entries.update({(str(e["model"]), str(e["id"])): e for e in models})
    return entries


def _detail(entry: Mapping[str, object] | None) -> str:
    if entry is None:
        return ""
    evidence = entry.get("evidence") or []
    assert isinstance(evidence, list)
    if not evidence:
        return ""
    first = evidence[0]
    if first.get("expected") or first.get("actual"):
        where = first.get("where") or ""
        text = f"{where} expected {first.get('expected') or '-'}; actual {first.get('actual') or '-'}"
    else:
        text = str(first.get("message") or "")
    return " ".join(text.split())[:200]


def compare(
    old: Mapping[str, object], new: Mapping[str, object], *, old_name: str = "OLD", new_name: str = "NEW"
) -> RunDiff:
    """The changes from ``old`` to ``new`` (two loaded reports)."""
    before, after = _entries(old), _entries(new)
    result = RunDiff(old=old_name, new=new_name)
    for key in sorted(set(before) | set(after), key=lambda k: (k[1], k[0])):
        was = str(before[key]["verdict"]) if key in before else "ABSENT"
        now = str(after[key]["verdict"]) if key in after else "ABSENT"
        if was == now:
            continue
        change = Change(requirement=key[1], model=key[0], old=was, new=now, detail=_detail(after.get(key)))
        if was == "PASS" and now in _BROKEN:
            result.regressions.append(change)
        elif was in _BROKEN and now == "PASS":
            result.fixes.append(change)
        elif now == "WARN":
            result.new_warns.append(change)
        elif "NOT_SUPPORTED" in (was, now):
            result.not_supported.append(change)
        else:
            result.other.append(change)
    return result


def diff_paths(old: Path, new: Path) -> RunDiff:
    """Load two reports (directories or files) and compare them."""
    return compare(load_report(old), load_report(new), old_name=str(old), new_name=str(new))


def _line(change: Change) -> str:
    text = f"{change.key}: {change.old} -> {change.new}"
    return f"{text}  ({change.detail})" if change.detail else text


def render_text(diff: RunDiff) -> str:
    """The diff for a terminal: one section per kind of change, regressions first."""
    out = [f"conformance diff: {diff.old} -> {diff.new}"]
    for title, changes in diff.sections():
        out.append(f"{title}: {len(changes)}")
        out += [f"  {_line(c)}" for c in changes]
    out.append("result: " + (f"{len(diff.regressions)} regression(s)" if diff.regressions else "no regression"))
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(diff: RunDiff) -> str:
    """The diff as Markdown (a CI job summary or a merge-request comment)."""
    out = [
        "# Conformance diff",
        "",
        f"`{_md(diff.old)}` -> `{_md(diff.new)}`: "
        + (f"**{len(diff.regressions)} regression(s)**" if diff.regressions else "no regression"),
    ]
    for title, changes in diff.sections():
        out += ["", f"## {title}: {len(changes)}"]
        if changes:
            out += ["", "| requirement | old | new | detail |", "|---|---|---|---|"]
            out += [f"| `{_md(c.key)}` | {c.old} | {c.new} | {_md(c.detail)} |" for c in changes]
    return "\n".join(out) + "\n"


def render(diff: RunDiff, fmt: str) -> str:
    """``text`` or ``markdown``."""
    return render_markdown(diff) if fmt == "markdown" else render_text(diff)


def changed_ids(changes: Iterable[Change]) -> list[str]:
    """The names of some changes (for messages and tests)."""
    return [c.key for c in changes]
