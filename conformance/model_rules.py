"""Per-model parameter rules (issue 19 point 4, D69, D72): what a model takes, and how a request adapts.

Owns, with no I/O:

- `ModelRules`: one model's rules: the token-limit parameter it takes (``max_tokens`` or
  ``max_completion_tokens``), the sampling parameters fixed to one value (a reasoning model
  takes ``temperature`` 1 and nothing else), the parameters it refuses outright (an image
  model refusing ``response_format``, D69) and its token budget (the least a useful answer
  needs: a reasoning model spends a small budget on reasoning and answers nothing).
- `parse_rules`: the ``[model_rules."<model>"]`` tables of the target file, validated.
- `adapt`: a request body rewritten for its model's rules. Only parameters the suite sends
  incidentally are touched; a test *about* a parameter the model does not take is
  NOT_SUPPORTED instead (`unsupported_reason`), so it never reaches `adapt` for that parameter.
- `learn`: the rule a 400 teaches when its error names a parameter the suite sent incidentally.
- `to_json` / `from_json`: the rules as the run's ledger shares them with every worker.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Final

from conformance.errors import ConfigError

__all__ = [
    "INCIDENTAL",
    "TOKEN_PARAMETERS",
    "ModelRules",
    "adapt",
    "from_json",
    "learn",
    "parse_rules",
    "to_json",
    "unsupported_reason",
]

#: The token-limit parameters of a chat request; a model takes exactly one of them.
TOKEN_PARAMETERS: Final = ("max_tokens", "max_completion_tokens")
#: Sampling parameters a model may fix to one value, with the value the rules default to.
_SAMPLING_DEFAULTS: Final[Mapping[str, float]] = MappingProxyType(
    {"temperature": 1.0, "top_p": 1.0, "presence_penalty": 0.0, "frequency_penalty": 0.0})
#: The valid range of each sampling parameter (a value outside it is a test's deliberate defect).
_RANGES: Final[Mapping[str, tuple[float, float]]] = MappingProxyType(
    {"temperature": (0.0, 2.0), "top_p": (0.0, 1.0), "presence_penalty": (-2.0, 2.0), "frequency_penalty": (-2.0, 2.0)})
#: Parameters the suite sends on requests that are not about them: only these are learned.
INCIDENTAL: Final = frozenset({*TOKEN_PARAMETERS, *_SAMPLING_DEFAULTS})
_RULE_KEYS: Final = frozenset({"token_parameter", "fixed", "refuses", "min_tokens"})
_NAME_IN_TEXT = re.compile(r"['\"`]?([a-z_]+)['\"`]?")


@dataclass(frozen=True, slots=True)
class ModelRules:
    """One model's parameter rules; the defaults are a model with no rules at all.

    Attributes:
        token_parameter: the token-limit parameter the model takes.
        fixed: sampling parameter -> the only value the model takes.
        refuses: parameters the model refuses with a 400 naming them (D69).
        min_tokens: the token budget a request needs to get an answer (0: the run's budget).
        source: ``declared`` (target file) or ``learned`` (preflight).
    """

    token_parameter: str = "max_tokens"
    fixed: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    refuses: frozenset[str] = frozenset()
    min_tokens: int = 0
    source: str = "declared"

    def describe(self) -> str:
        """One line for the report: what the rules change."""
        parts = [f"token limit {self.token_parameter}"]
        parts += [f"{name} fixed at {value:g}" for name, value in sorted(self.fixed.items())]
        if self.refuses:
            parts.append("refuses " + ", ".join(sorted(self.refuses)))
        if self.min_tokens:
            parts.append(f"token budget at least {self.min_tokens}")
        return f"{'; '.join(parts)} ({self.source})"

    def takes(self, parameter: str) -> bool:
        """False when the model does not take ``parameter`` as a test would send it."""
        if parameter in self.refuses or parameter in self.fixed:
            return False
        return not (parameter in TOKEN_PARAMETERS and parameter != self.token_parameter)


def parse_rules(raw: Mapping[str, object]) -> dict[str, ModelRules]:
    """``{model: {token_parameter, fixed, refuses, min_tokens}}`` from the target file, validated."""
    rules: dict[str, ModelRules] = {}
    for model, table in raw.items():
        where = f"model_rules.{model}"
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where} must be a table")
        unknown = set(table) - _RULE_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(_RULE_KEYS))})")
        token = table.get("token_parameter", "max_tokens")
        if token not in TOKEN_PARAMETERS:
            raise ConfigError(f"{where}.token_parameter must be one of {', '.join(TOKEN_PARAMETERS)}")
        fixed = table.get("fixed", {})
        if not isinstance(fixed, Mapping) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in fixed.values()):
            raise ConfigError(f"{where}.fixed must be a table of numbers (e.g. {{temperature = 1}})")
        refuses = table.get("refuses", [])
        if not isinstance(refuses, list) or not all(isinstance(p, str) for p in refuses):
            raise ConfigError(f"{where}.refuses must be a list of parameter names")
        budget = table.get("min_tokens", 0)
        if not isinstance(budget, int) or isinstance(budget, bool) or budget < 0:
            raise ConfigError(f"{where}.min_tokens must be a whole number >= 0")
        rules[str(model)] = ModelRules(str(token), MappingProxyType({str(k): float(v) for k, v in fixed.items()}),
                                       frozenset(refuses), budget)
    return rules


def adapt(body: Mapping[str, Any], rules: Mapping[str, ModelRules]) -> dict[str, Any]:
    """``body`` as its model takes it; a body without a ruled model is returned unchanged.

    Only valid values the model does not take are adapted (a deliberately invalid value, such
    as ``temperature`` 5 or ``max_tokens`` 0, is the test's point and stays as it is): the
    token limit is renamed, and raised to the model's declared budget (the target file's own
    cost bound for that model; learned rules never raise it); a fixed sampling parameter is
    set to its one value; a refused parameter is left out.
    """
    model = body.get("model")
    ruled = rules.get(model) if isinstance(model, str) else None
    if ruled is None:
        return dict(body)
    out = {k: v for k, v in body.items() if k not in ruled.refuses}
    for name in TOKEN_PARAMETERS:
        if name != ruled.token_parameter and name in out and ruled.token_parameter not in out:
            value = out.pop(name)
            if _number(value) and value >= 1:
                value = max(int(value), ruled.min_tokens)
            out[ruled.token_parameter] = value
    for name, value in ruled.fixed.items():
        low, high = _RANGES.get(name, (value, value))
        current = out.get(name)
        if isinstance(current, (int, float)) and not isinstance(current, bool) and low <= current <= high:
            out[name] = value
    return out


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def learn(sent: Mapping[str, Any], error: object, known: ModelRules | None) -> ModelRules | None:
    """The rules a 400 answer to ``sent`` teaches, or None when it names no incidental parameter.

    ``error`` is the parsed JSON body of the answer. The parameter is the error's ``param``,
    else the first name in its ``message`` that ``sent`` carries. Only `INCIDENTAL`
    parameters are learned: a test's own parameter is never worked around.
    """
    param = _named_parameter(sent, error)
    if param is None or param not in INCIDENTAL:
        return None
    rules = replace(known or ModelRules(), source="learned")
    if param in TOKEN_PARAMETERS:
        if param != "max_tokens" or rules.token_parameter != "max_tokens":
            return None          # already adapted and still refused: nothing more to learn
        return replace(rules, token_parameter="max_completion_tokens")
    if param in rules.fixed:
        return None
    return replace(rules, fixed=MappingProxyType({**rules.fixed, param: _SAMPLING_DEFAULTS[param]}))


def _named_parameter(sent: Mapping[str, Any], error: object) -> str | None:
    inner = error.get("error") if isinstance(error, Mapping) else None
    if not isinstance(inner, Mapping):
        return None
    param = inner.get("param")
    if isinstance(param, str) and param in sent:
        return param
    message = inner.get("message")
    if isinstance(message, str):
        for found in _NAME_IN_TEXT.finditer(message):
            if found.group(1) in sent and found.group(1) in INCIDENTAL:
                return found.group(1)
    return None


def unsupported_reason(parameters: tuple[str, ...], model: str | None,
                       rules: Mapping[str, ModelRules]) -> str | None:
    """Why a test about ``parameters`` cannot run on ``model`` (NOT_SUPPORTED), or None."""
    ruled = rules.get(model) if model is not None else None
    if ruled is None:
        return None
    refused = [p for p in parameters if not ruled.takes(p)]
    if not refused:
        return None
    return f"model {model} does not take {', '.join(refused)} ({ruled.describe()})"


def to_json(rules: Mapping[str, ModelRules]) -> dict[str, dict[str, Any]]:
    """The rules as plain JSON (the ledger's shared document)."""
    return {model: {"token_parameter": r.token_parameter, "fixed": dict(r.fixed), "refuses": sorted(r.refuses),
                    "min_tokens": r.min_tokens, "source": r.source} for model, r in rules.items()}


def from_json(data: Mapping[str, Any]) -> dict[str, ModelRules]:
    """The inverse of `to_json`."""
    return {model: ModelRules(str(r["token_parameter"]), MappingProxyType(dict(r["fixed"])),
                              frozenset(r["refuses"]), int(r["min_tokens"]), str(r["source"]))
            for model, r in data.items()}
