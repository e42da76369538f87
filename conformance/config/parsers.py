"""Key parsers: text, numbers, booleans, URLs, feature and model lists, each to a typed value.

Owns: `Parser` (``(value, came_as_text) -> parsed``) and the parsers of the key table. A
parser raises `Bad` with what it expected; ``resolve`` adds the key, layer and value.
Text values (command line, environment) are parsed; file values must have their TOML type.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from urllib.parse import urlsplit

from conformance.profiles import PROFILES


class Bad(ValueError):
    """A value failed to parse; the message says what was expected."""


Parser = Callable[[object, bool], object]   # (value, came_as_text) -> parsed value


def parse_text(value: object, as_text: bool) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Bad("expected a non-empty string")
    return value.strip()


def parse_number(kind: type, minimum: float | None, *, strict_min: bool = False) -> Parser:
    """A parser for an int or float with an optional lower bound (finite numbers only)."""
    what = "an integer" if kind is int else "a number"
    if minimum is not None:
        what += f" > {minimum:g}" if strict_min else f" >= {minimum:g}"

    def parse(value: object, as_text: bool) -> object:
        if isinstance(value, str) and as_text:
            try:
                value = kind(value.strip())
            except ValueError as exc:
                raise Bad(f"expected {what}") from exc
        # bool is an int subclass: `max_tokens = true` is a mistake, not 1.
        if isinstance(value, bool) or not isinstance(value, (int,) if kind is int else (int, float)):
            raise Bad(f"expected {what}")
        if not math.isfinite(value) or (minimum is not None and (
                value < minimum or (strict_min and value == minimum))):
            raise Bad(f"expected {what}")
        return kind(value)
    return parse


def parse_boolean(value: object, as_text: bool) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and as_text:
        lowered = value.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
    raise Bad("expected a boolean (true/false)")


def parse_url(value: object, as_text: bool) -> object:
    text = parse_text(value, as_text)
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:
        raise Bad("expected an http(s) URL such as http://127.0.0.1:8765/v1") from exc
    if parts.scheme not in {"http", "https"} or not parts.hostname or not port_ok:
        raise Bad("expected an http(s) URL such as http://127.0.0.1:8765/v1")
    if parts.username or parts.password:
        raise Bad("expected a URL without credentials (put the key in target.api_key)")
    if parts.query or parts.fragment:
        raise Bad("expected a base URL without query or fragment")
    return text.rstrip("/")


def parse_profile_name(value: object, as_text: bool) -> object:
    text = parse_text(value, as_text)
    if text not in PROFILES:
        raise Bad(f"expected one of {', '.join(PROFILES)}")
    return text


def parse_features(value: object, as_text: bool) -> object:
    if isinstance(value, str) and as_text:
        items: list[object] = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    else:
        raise Bad("expected a list of feature names")
    if not all(isinstance(item, str) and item.strip() for item in items):
        raise Bad("expected a list of feature names")
    return frozenset(str(item).strip() for item in items)


def parse_model_list(value: object, as_text: bool) -> object:
    """``all`` or model ids (a list, or comma-separated text): the model matrix's selection."""
    if isinstance(value, str):
        items: list[object] = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise Bad('expected "all" or a list of model ids')
    if not items or not all(isinstance(item, str) and item.strip() for item in items):
        raise Bad('expected "all" or a list of model ids')
    return tuple(dict.fromkeys(str(item).strip() for item in items))


def parse_patterns(value: object, as_text: bool) -> object:
    if isinstance(value, str) and as_text:
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
        raise Bad("expected a list of model-name patterns (shell wildcards, e.g. \"gpt-*\")")
    return tuple(str(v).strip() for v in value)


def parse_optional_path(value: object, as_text: bool) -> object:
    if not isinstance(value, str):
        raise Bad("expected a path string")
    return value.strip() or None   # "" in the file means "no custom bundle"
