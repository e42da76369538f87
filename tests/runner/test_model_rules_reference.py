"""Model rules against the reference's reasoning model: it refuses the suite's incidental
parameters with a 400 naming them; the preflight learns that, every later request adapts."""

from __future__ import annotations

import json
from dataclasses import replace
from types import MappingProxyType

from conformance.config import Budgets, Settings
from conformance.ledger import Ledger
from conformance.model_rules_run import active_rules, gate_reason
from conformance.reference.config import DEFAULT_API_KEY, ReferenceConfig
from conformance.reference.model_rules import REASONING_MODEL
from conformance.reference.server import running_reference
from conformance.target import preflight
from conformance.transport import Transport

CHAT = {"messages": [{"role": "user", "content": "Say OK."}], "model": REASONING_MODEL}


def _settings(url: str, **changes: object) -> Settings:
    settings = Settings(base_url=url, api_key=DEFAULT_API_KEY, budgets=Budgets(max_requests=20),
                        models=MappingProxyType({"chat": REASONING_MODEL}), features=frozenset({"chat"}))
    return replace(settings, **changes)  # type: ignore[arg-type]


def test_the_reasoning_model_refuses_what_it_does_not_take_and_the_preflight_learns_it() -> None:
    with running_reference(ReferenceConfig(ruled_models=True)) as url:
        with Transport(_settings(url)) as plain:
            refused = plain.request("POST", "/chat/completions", json={**CHAT, "max_tokens": 16})
            hot = plain.request("POST", "/chat/completions", json={**CHAT, "max_completion_tokens": 16,
                                                                    "temperature": 0})
            other = plain.request("POST", "/chat/completions", json={**CHAT, "model": "ref-chat", "max_tokens": 16})
        assert (refused.status, refused.json()["error"]["param"]) == (400, "max_tokens")
        assert (hot.status, hot.json()["error"]["param"]) == (400, "temperature")
        assert other.status == 200
        ledger = Ledger.memory(max_requests=20)
        settings = _settings(url)
        assert preflight(settings, ledger=ledger) is None
        rules = active_rules(settings, ledger)[REASONING_MODEL]
        assert (rules.token_parameter, dict(rules.fixed), rules.source) == (
            "max_completion_tokens", {"temperature": 1.0}, "learned")
        assert ledger.preflight_requests() == 4      # GET /models, two refusals, the adapted answer
        with Transport(settings, ledger=ledger) as adapted:
            answered = adapted.request("POST", "/chat/completions", json={**CHAT, "max_tokens": 16, "temperature": 0})
        assert answered.status == 200
        assert json.loads(answered.request_body or b"{}")["max_completion_tokens"] == 16
        about = [{"args": ("max_tokens",), "kwargs": {"capability": "chat"}}]
        assert gate_reason(about, settings, ledger) is not None
        assert gate_reason(about, settings, Ledger.memory(max_requests=20)) is None


def test_declared_rules_need_no_learning() -> None:
    declared = MappingProxyType({REASONING_MODEL: {"token_parameter": "max_completion_tokens",
                                                   "fixed": {"temperature": 1}, "min_tokens": 32}})
    with running_reference(ReferenceConfig(ruled_models=True)) as url:
        settings = _settings(url, model_rules=declared)
        ledger = Ledger.memory(max_requests=20)
        assert preflight(settings, ledger=ledger) is None
        assert ledger.preflight_requests() == 1 and ledger.model_rules() == {}
        with Transport(settings, ledger=ledger) as transport:
            answered = transport.request("POST", "/chat/completions", json={**CHAT, "max_tokens": 16})
        assert answered.status == 200
        assert json.loads(answered.request_body or b"{}")["max_completion_tokens"] == 32


def test_a_declared_refusal_makes_the_test_of_that_parameter_not_supported() -> None:
    about = [{"args": ("response_format",), "kwargs": {"capability": "images"}}]
    plain = Settings(base_url="http://127.0.0.1:9/v1", models=MappingProxyType({"images": "img-1"}))
    assert gate_reason(about, plain, None) is None          # undeclared: the MUST stands (D69)
    declared = replace(plain, model_rules=MappingProxyType({"img-1": {"refuses": ["response_format"]}}))
    reason = gate_reason(about, declared, None)
    assert reason is not None and "img-1 does not take response_format" in reason


def test_a_target_without_rules_costs_one_probe_and_learns_nothing() -> None:
    with running_reference(ReferenceConfig()) as url:
        settings = _settings(url, models=MappingProxyType({"chat": "ref-chat"}))
        ledger = Ledger.memory(max_requests=20)
        assert preflight(settings, ledger=ledger) is None
    assert ledger.preflight_requests() == 2 and ledger.model_rules() == {}
