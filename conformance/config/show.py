"""Showing settings: every key with its rendered value and source layer (``--show-config``).

Owns: rendering values for people (lists joined, booleans as true/false, secrets masked).
"""

from __future__ import annotations

from conformance.config.keys import KEYS
from conformance.config.values import CAPABILITIES, Settings
from conformance.model import REDACTED

_NOT_SET = "(not set)"


def _render(value: object, secret: bool) -> str:
    if value is None or value == frozenset():
        return _NOT_SET
    if secret:
        return REDACTED
    if isinstance(value, frozenset):
        return ",".join(sorted(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """Every setting as (dotted key, rendered value, source layer), secrets masked (``--show-config``)."""
    flat: dict[str, object] = {
        "target.base_url": settings.base_url,
        "target.api_key": settings.api_key,
        "target.name": settings.implementation_name,
        "target.version": settings.implementation_version,
        "target.features": settings.features,
        "profile": settings.profile,
        "allow_writes": settings.allow_writes,
    }
    flat["matrix.models"] = ",".join(settings.matrix.models) or None
    flat.update({f"matrix.{cap}": ",".join(settings.matrix.rules.get(cap, ())) or None for cap in CAPABILITIES})
    groups = {"keys": settings.keys, "limits": settings.limits, "budgets": settings.budgets,
              "timeouts": settings.timeouts, "tls": settings.tls, "properties": settings.properties,
              "platform": settings.platform}
    rows = []
    for key in KEYS:
        section, _, attr = key.name.partition(".")
        if key.name in flat:
            value = flat[key.name]
        elif section == "models":
            value = settings.models.get(attr)
        elif section == "upstream":
            value = getattr(settings.upstream, attr) if settings.upstream is not None else None
        else:
            value = getattr(groups[section], attr)
        rows.append((key.name, _render(value, key.secret), settings.sources.get(key.name, "default")))
    return rows
