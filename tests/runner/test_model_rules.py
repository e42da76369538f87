"""Model parameter rules (conformance.model_rules): parsing, adaptation, learning, the gate."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from conformance.errors import ConfigError
from conformance.model_rules import ModelRules, adapt, from_json, learn, parse_rules, to_json, unsupported_reason

REASONING = ModelRules("max_completion_tokens", MappingProxyType({"temperature": 1.0}), frozenset(), 64)


def test_declared_tables_parse_and_bad_ones_are_refused() -> None:
    rules = parse_rules({"o-mini": {"token_parameter": "max_completion_tokens", "fixed": {"temperature": 1},
                                    "min_tokens": 64}, "img": {"refuses": ["response_format"]}})
    assert rules["o-mini"] == REASONING
    assert rules["img"].refuses == {"response_format"}
    for bad in ({"token_parameter": "max_output"}, {"fixed": {"temperature": "1"}}, {"refuses": "x"},
                {"min_tokens": -1}, {"budget": 3}):
        with pytest.raises(ConfigError):
            parse_rules({"m": bad})


def test_incidental_parameters_adapt_and_the_budget_holds() -> None:
    body = {"model": "o-mini", "max_tokens": 16, "temperature": 0, "messages": []}
    assert adapt(body, {"o-mini": REASONING}) == {"model": "o-mini", "max_completion_tokens": 64,
                                                   "temperature": 1.0, "messages": []}
    assert adapt(body, {"other": REASONING}) == body


def test_deliberately_invalid_values_are_left_for_the_test() -> None:
    rules = {"o-mini": REASONING}
    assert adapt({"model": "o-mini", "temperature": 5}, rules)["temperature"] == 5
    assert adapt({"model": "o-mini", "temperature": "warm"}, rules)["temperature"] == "warm"
    assert adapt({"model": "o-mini", "max_tokens": 0}, rules) == {"model": "o-mini", "max_completion_tokens": 0}


def test_refused_parameters_are_left_out() -> None:
    rules = {"img": ModelRules(refuses=frozenset({"response_format"}))}
    assert adapt({"model": "img", "response_format": "url", "n": 1}, rules) == {"model": "img", "n": 1}


def test_a_400_naming_an_incidental_parameter_teaches_a_rule() -> None:
    sent = {"model": "o-mini", "max_tokens": 16, "temperature": 0}
    named = {"error": {"message": "Unsupported parameter: 'max_tokens'", "param": "max_tokens"}}
    first = learn(sent, named, None)
    assert first is not None and first.token_parameter == "max_completion_tokens" and first.source == "learned"
    in_text = {"error": {"message": "'temperature' does not support 0 with this model.", "param": None}}
    second = learn(sent, in_text, first)
    assert second is not None and second.fixed == {"temperature": 1.0}
    assert second.token_parameter == "max_completion_tokens"


def test_nothing_is_learned_from_a_test_parameter_or_a_vague_error() -> None:
    sent = {"model": "m", "response_format": {"type": "json_object"}, "max_tokens": 16}
    assert learn(sent, {"error": {"message": "bad", "param": "response_format"}}, None) is None
    assert learn(sent, {"error": {"message": "invalid request", "param": None}}, None) is None
    assert learn(sent, "not json", None) is None
    adapted = ModelRules("max_completion_tokens")
    assert learn({"max_completion_tokens": 16}, {"error": {"param": "max_completion_tokens"}}, adapted) is None


def test_a_test_about_a_parameter_the_model_does_not_take_is_not_supported() -> None:
    rules = {"o-mini": REASONING}
    reason = unsupported_reason(("max_tokens",), "o-mini", rules)
    assert reason is not None and "does not take max_tokens" in reason
    assert unsupported_reason(("temperature",), "o-mini", rules) is not None
    assert unsupported_reason(("max_completion_tokens",), "o-mini", rules) is None
    assert unsupported_reason(("max_tokens",), "ref-chat", rules) is None


def test_rules_round_trip_through_json() -> None:
    assert from_json(to_json({"o-mini": REASONING})) == {"o-mini": REASONING}
