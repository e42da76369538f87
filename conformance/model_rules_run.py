"""The model rules of one run: declared in the target file, learned by the preflight, shared.

Owns `active_rules` (the rules every request of every worker follows: the target file's
``[model_rules."<model>"]`` tables, extended by what the preflight learned and recorded in
the run's `Ledger`), `learn_rules` (the preflight's probe: a minimal chat request carrying
the parameters the suite sends incidentally; each 400 naming one of them teaches a rule and
the request is sent once more, adapted, at most `MAX_PROBES` requests in all, counted
against the run's budget) and `gate_reason` (a test about a parameter the declared model does
not take is NOT_SUPPORTED, never FAIL; tests name that parameter with the
``about_parameter`` marker), and `report_rules` (``model-rules.json`` in the report
directory and the terminal's lines). See decisions D69 and D72.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from conformance.errors import TransportError
from conformance.model_rules import ModelRules, adapt, from_json, learn, parse_rules, to_json, unsupported_reason

if TYPE_CHECKING:
    from conformance.config import Settings
    from conformance.ledger import Ledger
    from conformance.transport import Transport

__all__ = ["MARKER", "MAX_PROBES", "active_rules", "describe_rules", "gate_reason", "learn_rules", "report_rules"]

#: The most requests the preflight spends learning rules (one plain request, one per rule).
MAX_PROBES: Final = 3
#: The marker naming the parameters a test is about: ``@pytest.mark.about_parameter("max_tokens", capability="chat")``.
MARKER: Final = "about_parameter"


def active_rules(settings: Settings, ledger: Ledger | None) -> dict[str, ModelRules]:
    """The declared rules, each model's learned rules overriding its declared ones."""
    rules = parse_rules(settings.model_rules)
    if ledger is not None:
        rules.update(from_json(ledger.model_rules()))
    return rules


def learn_rules(probe: Transport, settings: Settings, ledger: Ledger | None) -> list[str]:
    """Probe the run's chat model; record learned rules in ``ledger``; one report line per model.

    A probe without an answer (timeout, refused, budget) ends the learning without stopping
    the run. Nothing is learned for a model the target file already declares (the declaration wins),
    or when the target declares no chat (feature ``chat`` and a chat model).
    """
    model = settings.models.get("chat")
    declared = parse_rules(settings.model_rules)
    if model is None or "chat" not in settings.features or model in declared:
        return []
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "Say OK."}],
                            "max_tokens": settings.budgets.max_tokens, "temperature": 0}
    learned: ModelRules | None = None
    for _ in range(MAX_PROBES):
        sent = adapt(body, {model: learned}) if learned is not None else body
        try:
            exchange = probe.request("POST", "/chat/completions", json=sent)
        except TransportError:
            break                # no answer to the probe: nothing learned; the tests will say more
        if exchange.status != 400:
            break
        try:
            error = json.loads(exchange.body)
        except ValueError:
            break
        taught = learn(sent, error, learned)
        if taught is None:
            break
        learned = taught
    if learned is None:
        return []
    if ledger is not None:
        ledger.set_model_rules(to_json({model: learned}))
    return [f"model rules of {model}: {learned.describe()}"]


def gate_reason(markers: list[Mapping[str, Any]], settings: Settings, ledger: Ledger | None) -> str | None:
    """NOT_SUPPORTED reason for a test whose ``about_parameter`` markers name a parameter its
    model does not take (``markers``: each marker's ``args`` and ``kwargs``), else None."""
    if not markers:
        return None
    rules = active_rules(settings, ledger)
    if not rules:
        return None
    for marker in markers:
        params = tuple(str(a) for a in marker.get("args", ()))
        capability = str(marker.get("kwargs", {}).get("capability", "chat"))
        reason = unsupported_reason(params, settings.models.get(capability), rules)
        if reason is not None:
            return reason
    return None


def describe_rules(rules: Mapping[str, ModelRules]) -> list[str]:
    """One report line per ruled model."""
    return [f"model rules of {model}: {r.describe()}" for model, r in sorted(rules.items())]


def report_rules(report_dir: Path, settings: Settings, ledger: Ledger | None) -> list[str]:
    """Write ``model-rules.json`` (the rules the run followed, declared and learned) into the
    report directory when there are any; the summary lines for the terminal."""
    rules = active_rules(settings, ledger)
    if not rules:
        return []
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "model-rules.json").write_text(json.dumps(to_json(rules), indent=2, sort_keys=True) + "\n",
                                                 encoding="utf-8")
    return describe_rules(rules)
