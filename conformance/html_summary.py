"""summary.html: the conformance matrix as one static page beside the rendered Allure report.

Input is the run's conformance report (the document ``report.build_report`` returns); output
is HTML text with no script and no external resource, so it reads the same in any browser,
in a CI artifact viewer or offline. It opens on the areas by verdict counts, the profile
results, the target and suite versions and the run's cost, then lists the requirements that
did not pass (worst first, each with its evidence and curl), then every requirement per area.
A model-matrix run (``model-matrix.json`` beside the report) adds the model-by-area matrix:
per model its overall verdict and the worst verdict in each area.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

from conformance.allure_requirements import area_of, ordered

REPORT_FILE = "conformance-report.json"
#: The model matrix beside the report (``model_matrix.MATRIX_FILE``; not imported: it needs pytest).
MATRIX_FILE = "model-matrix.json"
#: Columns of the matrix, in reading order.
COLUMNS: tuple[str, ...] = ("FAIL", "ERROR", "WARN", "NOT_SUPPORTED", "NOT_RUN", "PASS")

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
td.n{text-align:right}
.FAIL{background:#fdd}.ERROR{background:#fec}.WARN{background:#ffd}
.NOT_SUPPORTED,.NOT_RUN{background:#eee}.PASS{background:#dfd}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em;margin:.3em 0}
"""


def _e(value: object) -> str:
    return html.escape(str(value))


def _dict(value: object) -> Mapping[str, object]:
    assert isinstance(value, dict)
    return value


def _list(value: object) -> Sequence[Mapping[str, object]]:
    assert isinstance(value, list)
    return value


def area_counts(requirements: Sequence[Mapping[str, object]]) -> dict[str, dict[str, int]]:
    """Verdict counts per area, areas sorted by name."""
    rows: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    for req in requirements:
        rows[area_of(str(req["id"]))][str(req["verdict"])] += 1
    return {area: rows[area] for area in sorted(rows)}


def _evidence_block(entry: Mapping[str, object]) -> str:
    lines = [f"test: {entry.get('test', '-')}"]
    lines += [f"{key}: {entry[key]}" for key in ("where", "expected", "actual", "message") if entry.get(key)]
    out = f"<pre>{_e(chr(10).join(lines))}</pre>"
    if entry.get("curl"):
        out += f"<p>reproduce with:</p><pre class=\"curl\">{_e(entry['curl'])}</pre>"
    return out


def model_rows(matrix: Mapping[str, object]) -> tuple[list[str], list[tuple[str, str, dict[str, str]]]]:
    """The areas and (model, overall, area -> worst verdict) rows of a model-matrix document."""
    models = _dict(matrix.get("models", {}))
    rows = [(str(m), str(_dict(row)["overall"]), {str(a): str(v) for a, v in _dict(_dict(row)["areas"]).items()})
            for m, row in sorted(models.items())]
    areas = sorted({a for _, _, by_area in rows for a in by_area})
    return areas, rows


def _matrix_section(matrix: Mapping[str, object]) -> list[str]:
    """The model-by-area table (worst verdict per model and area)."""
    areas, rows = model_rows(matrix)
    out = [f"<h2>Models by area ({len(rows)} models)</h2>",
           '<table id="models"><tr><th>model</th><th>overall</th>' + "".join(f"<th>{_e(a)}</th>" for a in areas)
           + "</tr>"]
    for model, overall, by_area in rows:
        cells = "".join(f'<td class="{_e(by_area.get(a, ""))}">{_e(by_area.get(a, "-"))}</td>' for a in areas)
        out.append(f'<tr><td><code>{_e(model)}</code></td><td class="{_e(overall)}">{_e(overall)}</td>{cells}</tr>')
    out.append("</table>")
    return out


def _cost(run: Mapping[str, object]) -> str:
    """The run's cost: requests, billable calls, requests per operation (most first)."""
    per_operation = _dict(run.get("requests_by_operation") or {})
    ops = sorted(per_operation.items(), key=lambda kv: (-int(str(kv[1])), kv[0]))
    return (f"{_e(run.get('requests_sent', 0))} requests sent, {_e(run.get('billable_requests', 0))} billable "
            "generation calls" + (f" ({_e(', '.join(f'{op} {n}' for op, n in ops))})" if ops else ""))


def render_summary(report: Mapping[str, object], matrix: Mapping[str, object] | None = None) -> str:
    """The summary page of one conformance report (and its model matrix, if any), as HTML text."""
    suite, spec, target, run = (_dict(report[k]) for k in ("suite", "spec", "target", "run"))
    implementation = _dict(target["implementation"])
    profiles = _dict(report["profiles"])
    requirements = _list(report["requirements"])
    totals = dict.fromkeys(COLUMNS, 0)
    for req in requirements:
        totals[str(req["verdict"])] += 1
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>Nexhina conformance summary</title>',
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Nexhina conformance summary</h1>",
        "<ul>",
        f"<li>target: {_e(target['base_url'])}"
        + (" (embedded reference)" if target.get("embedded_reference") else "")
        + f"; implementation {_e(implementation['name'])} {_e(implementation['version'])}</li>",
        f"<li>suite {_e(suite['name'])} {_e(suite['version'])}; spec {_e(spec['version'])}; "
        f"report schema {_e(report.get('schema_version', '?'))}</li>",
        f"<li>run: {_e(run['started'])} to {_e(run['finished'])} ({_e(run['duration_s'])} s); "
        f"profile {_e(run['profile'])}; seed {_e(run['seed'])}; exit code {_e(run['exit_code'])}</li>",
        f"<li>cost: {_cost(run)}</li>",
        '<li>full report: <a href="html/index.html">html/index.html</a> '
        "(render it with <code>nexhina-conformance report</code>)</li>",
        "</ul>",
        "<h2>Profiles</h2>",
        '<table id="profiles"><tr><th>profile</th><th>result</th>'
        + "".join(f"<th>{c}</th>" for c in COLUMNS)
        + "</tr>",
    ]
    for name, profile in profiles.items():
        stats = _dict(_dict(profile)["statistics"])
        out.append(
            f"<tr><td>{_e(name)}</td><td>{_e(_dict(profile)['result'])}</td>"
            + "".join(f'<td class="n">{_e(stats.get(c, 0))}</td>' for c in COLUMNS)
            + "</tr>"
        )
    out += [
        "</table>",
        "<h2>Areas by verdict</h2>",
        '<table id="matrix"><tr><th>area</th>' + "".join(f"<th>{c}</th>" for c in COLUMNS) + "</tr>",
    ]
    for area, counts in area_counts(requirements).items():
        out.append(
            f"<tr><td>{_e(area)}</td>"
            + "".join(f'<td class="n{" " + c if counts[c] and c != "PASS" else ""}">{counts[c]}</td>' for c in COLUMNS)
            + "</tr>"
        )
    out.append("<tr><th>total</th>" + "".join(f'<th class="n">{totals[c]}</th>' for c in COLUMNS) + "</tr></table>")
    if matrix is not None:
        out += _matrix_section(matrix)
    attention = [r for r in ordered(requirements) if r["verdict"] != "PASS"]
    out.append(f"<h2>Needs attention ({len(attention)})</h2>")
    for req in attention:
        out.append(
            f'<div class="req {_e(req["verdict"])}"><h3>{_e(req["verdict"])} <code>{_e(req["id"])}</code> '
            f"({_e(req['level'])}{', baselined' if req.get('baselined') else ''})</h3><p>{_e(req['text'])}</p>"
        )
        out += [_evidence_block(entry) for entry in _list(req.get("evidence") or [])]
        out.append("</div>")
    out.append("<h2>Every requirement</h2>")
    by_area: dict[str, list[Mapping[str, object]]] = defaultdict(list)
    for req in ordered(requirements):
        by_area[area_of(str(req["id"]))].append(req)
    for area in sorted(by_area):
        out += [f"<h3>{_e(area)}</h3>", "<table><tr><th>requirement</th><th>level</th><th>verdict</th></tr>"]
        out += [
            f'<tr><td><code>{_e(r["id"])}</code></td><td>{_e(r["level"])}</td>'
            f'<td class="{_e(r["verdict"])}">{_e(r["verdict"])}</td></tr>'
            for r in by_area[area]
        ]
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_summary(directory: Path, report: Mapping[str, object] | None = None) -> Path:
    """Write ``summary.html`` into ``directory`` (of ``report``, else of the directory's
    conformance-report.json), with the model matrix when model-matrix.json is there; return its path."""
    if report is None:
        report = json.loads((directory / REPORT_FILE).read_text(encoding="utf-8"))
        assert isinstance(report, dict)
    matrix_file = directory / MATRIX_FILE
    matrix = json.loads(matrix_file.read_text(encoding="utf-8")) if matrix_file.is_file() else None
    path = directory / "summary.html"
    path.write_text(render_summary(report, matrix), encoding="utf-8")
    return path
