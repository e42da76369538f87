"""Requirement-first Allure results: one Allure result per catalogue requirement.

Input is the run's conformance report (the document ``report.build_report`` returns); output
is ``<uuid>-result.json`` files (and their text attachments) in the run's Allure results
directory, beside the per-test results allure-pytest writes. Each result carries
epic = area, feature = the requirement's feature, story = the requirement id.
Nothing here talks to a server or reads the catalogue: the report is the only input.

The rendered tree is grouped by the suite labels (:data:`GROUP_BY`): requirement results sit
under ``Requirements`` > area > feature, worst verdict first; the per-test results, which
allure-pytest files under the package name ``conformance.suites``, are relabelled
:data:`TESTS_GROUP` > module (`relabel_test_results`), so the test tree stays reachable beside
them under a readable name. The epic/feature/story labels stay on both for Allure's behaviour
filters. A model-matrix run adds each model's verdict to its requirement results as Allure
parameters ``model NAME`` (`add_model_verdicts`).
"""

from __future__ import annotations

import hashlib
import html
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Allure status per verdict (WARN passes, with a visible "WARN" tag and name prefix).
ALLURE_STATUS: Mapping[str, str] = {
    "PASS": "passed",
    "FAIL": "failed",
    "ERROR": "broken",
    "WARN": "passed",
    "NOT_SUPPORTED": "skipped",
    "NOT_RUN": "skipped",
}

#: Verdicts in the order a person should see them (worst first).
VERDICT_ORDER: tuple[str, ...] = ("FAIL", "ERROR", "WARN", "NOT_SUPPORTED", "NOT_RUN", "PASS")

#: The labels the rendered report groups its tree by (``allure awesome --group-by``).
GROUP_BY: tuple[str, ...] = ("parentSuite", "suite", "subSuite")

#: The top group of the requirement results in the rendered tree.
REQUIREMENTS_GROUP = "Requirements"

#: The top group of the per-test results in the rendered tree (allure-pytest says ``conformance.suites``).
TESTS_GROUP = "Tests (per test function)"
_PACKAGE_GROUP = "conformance.suites"

#: The label that marks a requirement result (so tests and readers can tell them apart).
KIND_LABEL = "conformance"
KIND_VALUE = "requirement"


@dataclass(frozen=True)
class Attachment:
    """One text attachment of a requirement result."""

    name: str
    text: str


def area_of(requirement_id: str) -> str:
    """The area of a requirement: the first segment of its id (``chat.stream.x`` -> ``chat``)."""
    return requirement_id.split(".", 1)[0]


def verdict_rank(verdict: str) -> int:
    """Position of a verdict in :data:`VERDICT_ORDER` (0 = worst, shown first)."""
    return VERDICT_ORDER.index(verdict) if verdict in VERDICT_ORDER else len(VERDICT_ORDER)


def history_id(requirement_id: str) -> str:
    """A stable Allure history id per requirement, so the trend follows it across runs."""
    return hashlib.md5(f"nexhina-requirement:{requirement_id}".encode(), usedforsecurity=False).hexdigest()


def _evidence_text(entry: Mapping[str, object]) -> str:
    lines = [f"test: {entry.get('test', '-')}", f"verdict: {entry.get('verdict', '-')}"]
    for key in ("where", "expected", "actual", "message"):
        if entry.get(key):
            lines.append(f"{key}: {entry[key]}")
    if entry.get("curl"):
        lines += ["", "reproduce with:", str(entry["curl"])]
    return "\n".join(lines) + "\n"


def _description_html(req: Mapping[str, object]) -> str:
    esc = html.escape
    refs = req.get("ref") or []
    assert isinstance(refs, list)
    parts = [
        f"<p><b>{esc(str(req['verdict']))}</b> &middot; {esc(str(req['level']))} &middot; "
        f"feature {esc(str(req['feature']))} &middot; profile {esc(str(req['profile']))}"
        + (" &middot; baselined" if req.get("baselined") else "")
        + "</p>",
        f"<p>{esc(str(req['text']))}</p>",
    ]
    if refs:
        parts.append("<p>ref: " + ", ".join(esc(str(r)) for r in refs) + "</p>")
    if req.get("impact"):
        parts.append(f"<p>client impact: {esc(str(req['impact']))}</p>")
    evidence = req.get("evidence") or []
    assert isinstance(evidence, list)
    for i, entry in enumerate(evidence):
        parts.append(f"<h4>evidence {i + 1}</h4><pre>{esc(_evidence_text(entry))}</pre>")
    tests = req.get("tests") or []
    assert isinstance(tests, list)
    if tests:
        parts.append("<p>tests: " + ", ".join(f"<code>{esc(str(t))}</code>" for t in tests) + "</p>")
    return "\n".join(parts)


def _status_message(req: Mapping[str, object]) -> str:
    evidence = req.get("evidence") or []
    assert isinstance(evidence, list)
    if not evidence:
        return "no test exercised this requirement" if req["verdict"] == "NOT_RUN" else ""
    first = evidence[0]
    if first.get("expected") or first.get("actual"):
        where = first.get("where") or ""
        return f"{where} expected {first.get('expected') or '-'}; actual {first.get('actual') or '-'}"
    return str(first.get("message") or "")


def requirement_result(
    req: Mapping[str, object], *, start_ms: int, suite_version: str
) -> tuple[dict[str, object], list[Attachment]]:
    """The Allure result document of one requirement of the report, and its attachments."""
    rid = str(req["id"])
    verdict = str(req["verdict"])
    evidence: list[Mapping[str, object]] = list(req.get("evidence") or [])  # type: ignore[call-overload]
    attachments = [
        Attachment(f"evidence {i + 1}: {entry.get('test', '')}", _evidence_text(entry))
        for i, entry in enumerate(evidence)
    ]
    attachments += [
        Attachment(f"curl {i + 1}", str(entry["curl"]) + "\n") for i, entry in enumerate(evidence) if entry.get("curl")
    ]
    labels = [
        {"name": "epic", "value": area_of(rid)},
        {"name": "feature", "value": str(req["feature"])},
        {"name": "story", "value": rid},
        {"name": "parentSuite", "value": REQUIREMENTS_GROUP},
        {"name": "suite", "value": area_of(rid)},
        {"name": "subSuite", "value": str(req["feature"])},
        {"name": "severity", "value": "critical" if req["level"] == "MUST" else "normal"},
        {"name": "tag", "value": verdict},
        {"name": "tag", "value": str(req["level"])},
        {"name": KIND_LABEL, "value": KIND_VALUE},
        {"name": "framework", "value": f"nexhina-conformance {suite_version}"},
    ]
    message = _status_message(req)
    if evidence and evidence[0].get("curl"):
        # The error block is the first thing the result page shows, in the page itself (the
        # description is a sandboxed frame): the first evidence's curl goes there too.
        message += f"\n\nreproduce with:\n{evidence[0]['curl']}"
    details: dict[str, object] = {"message": message}
    if evidence:
        details["trace"] = "\n".join(_evidence_text(entry) for entry in evidence)
    if req.get("baselined"):
        details["known"] = True
    document: dict[str, object] = {
        "uuid": str(uuid.uuid4()),
        "historyId": history_id(rid),
        "testCaseId": history_id(rid),
        "fullName": f"requirement {rid}",
        "name": f"{verdict} {rid}: {req['text']}",
        "status": ALLURE_STATUS.get(verdict, "unknown"),
        "statusDetails": details,
        "stage": "finished",
        "descriptionHtml": _description_html(req),
        "start": start_ms,
        "stop": start_ms + 1,
        "labels": labels,
        "parameters": [],
        "links": [],
        "steps": [],
        "attachments": [],
    }
    return document, attachments


def ordered(requirements: Sequence[Mapping[str, object]]) -> list[Mapping[str, object]]:
    """Requirements worst verdict first, then by id (the order a person reads them in)."""
    return sorted(requirements, key=lambda r: (verdict_rank(str(r["verdict"])), str(r["id"])))


def write_requirement_results(allure_dir: Path, report: Mapping[str, object], *, start_ms: int) -> list[Path]:
    """Write one Allure result per requirement of ``report`` into ``allure_dir``; return the files.

    Start times increase in reading order (worst verdict first), so a report sorted by order
    lists FAIL before PASS within every group. The per-test results already there are
    relabelled (`relabel_test_results`).
    """
    allure_dir.mkdir(parents=True, exist_ok=True)
    requirements = report["requirements"]
    assert isinstance(requirements, list)
    suite = report["suite"]
    assert isinstance(suite, dict)
    written: list[Path] = []
    for i, req in enumerate(ordered(requirements)):
        document, attachments = requirement_result(req, start_ms=start_ms + i, suite_version=str(suite["version"]))
        entries = []
        for attachment in attachments:
            source = f"{uuid.uuid4()}-attachment.txt"
            (allure_dir / source).write_text(attachment.text, encoding="utf-8")
            entries.append({"name": attachment.name, "source": source, "type": "text/plain"})
        document["attachments"] = entries
        path = allure_dir / f"{document['uuid']}-result.json"
        path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        written.append(path)
    relabel_test_results(allure_dir)
    return written


def _results(allure_dir: Path) -> list[tuple[Path, dict[str, object]]]:
    """(path, document) of every result file in ``allure_dir``."""
    found = []
    for path in sorted(allure_dir.glob("*-result.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(document, dict):
            found.append((path, document))
    return found


def _labels(document: Mapping[str, object]) -> list[dict[str, str]]:
    labels = document.get("labels") or []
    assert isinstance(labels, list)
    return labels


def is_requirement_result(document: Mapping[str, object]) -> bool:
    """Whether a result document is one of ours (a requirement), not a per-test result."""
    return any(label.get("name") == KIND_LABEL and label.get("value") == KIND_VALUE for label in _labels(document))


def relabel_test_results(allure_dir: Path) -> int:
    """File the per-test results under :data:`TESTS_GROUP` instead of the package name (or of no
    group: allure-pytest leaves ``parentSuite`` out when the suites are collected from another
    root directory); return how many changed."""
    changed = 0
    for path, document in _results(allure_dir):
        if is_requirement_result(document):
            continue
        labels = _labels(document)
        parents = [lb for lb in labels if lb.get("name") == "parentSuite"]
        if parents and all(lb.get("value") != _PACKAGE_GROUP for lb in parents):
            continue
        document["labels"] = [lb for lb in labels if lb.get("name") != "parentSuite"] + [
            {"name": "parentSuite", "value": TESTS_GROUP}]
        path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        changed += 1
    return changed


def add_model_verdicts(allure_dir: Path, matrix: Mapping[str, object]) -> int:
    """Give each requirement result one parameter per model that judged it (``model NAME`` =
    verdict, worst first), from a model-matrix document; return how many results changed."""
    models = matrix.get("models") or {}
    assert isinstance(models, dict)
    per_requirement: dict[str, list[tuple[str, str]]] = {}
    for model, row in sorted(models.items()):
        for rid, verdict in row["requirements"].items():
            per_requirement.setdefault(str(rid), []).append((str(model), str(verdict)))
    changed = 0
    for path, document in _results(allure_dir):
        if not is_requirement_result(document):
            continue
        rid = next((lb["value"] for lb in _labels(document) if lb.get("name") == "story"), "")
        verdicts = sorted(per_requirement.get(rid, []), key=lambda mv: (verdict_rank(mv[1]), mv[0]))
        if verdicts:
            document["parameters"] = [{"name": f"model {model}", "value": verdict} for model, verdict in verdicts]
            path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
            changed += 1
    return changed
