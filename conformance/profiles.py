"""Features and profiles: the one definition every part of the suite uses.

Owns: the feature names a target may declare (`FEATURES`), the features every Nexhina
gateway has (`CORE_FEATURES`, the core profile), the profile names (`Profile`, `PROFILES`)
and the two membership rules: which requirements a profile covers (`covers`) and which
tests a core run keeps (`kept_in_core`). ``requirements``, ``verdicts``, ``config`` and the
plugin ask this module instead of restating the rules. Imports nothing of ours, so every
layer may use it (a leaf like ``model``); a test pins `FEATURES` to the catalogue's features.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Final

from conformance.model import ValueEnum

__all__ = [
    "CORE_FEATURES",
    "FEATURES",
    "PROFILES",
    "Profile",
    "covers",
    "parse_profile",
    "kept_in_core",
]


class Profile(ValueEnum):
    """A profile of the run: ``core`` (what every gateway has) or ``full`` (every requirement).

    A ``str`` enum: ``Profile.CORE == "core"``, so code and files that hold the plain
    strings keep working.
    """

    CORE = "core"
    FULL = "full"


#: Profile names, in report order.
PROFILES: Final[tuple[str, ...]] = tuple(p.value for p in Profile)

#: Features every Nexhina gateway has (the core profile); declared when no layer names any.
CORE_FEATURES: Final[frozenset[str]] = frozenset({"models", "chat", "chat.streaming", "auth", "errors"})

#: Every feature a target may declare (the catalogue's ``feature`` values; a test pins them).
FEATURES: Final[frozenset[str]] = CORE_FEATURES | frozenset({
    "audio.speech", "audio.transcription", "audio.translation",
    "auth.disabled-key", "auth.exhausted-key", "auth.expired-key", "auth.model-restricted-key",
    "body-limit", "chat.limits", "chat.n", "chat.response-format", "chat.stop", "chat.tools",
    "determinism", "embeddings", "images", "images.url", "moderation",
    "platform", "platform.admin", "platform.isolation", "platform.writes", "rate-limit",
    "relay", "relay.embeddings", "relay.images", "relay.moderation", "relay.rerank", "relay.responses",
    "relay.speech", "relay.transcription", "relay.translation",
    "rerank", "responses", "responses.streaming", "video",
})


def parse_profile(name: str) -> Profile:
    """The `Profile` called ``name``.

    Raises:
        ValueError: ``name`` is no profile (the message lists the profiles).
    """
    try:
        return Profile(name)
    except ValueError:
        raise ValueError(f"unknown profile {name!r}; expected one of {', '.join(PROFILES)}") from None


def covers(profile: str, requirement_profile: str) -> bool:
    """Whether a run of ``profile`` covers a requirement of ``requirement_profile``.

    ``full`` covers every requirement; ``core`` covers the core ones.
    """
    return profile == Profile.FULL or requirement_profile == profile


def kept_in_core(
    needed_features: Iterable[str], ids: Collection[str], profile_of: Callable[[str], str | None]
) -> bool:
    """Whether a core run keeps a test: it needs only core features and checks a core requirement.

    Args:
        needed_features: the features the test's ``feature`` markers name.
        ids: the requirement ids the test may report.
        profile_of: the profile of a requirement id, None for an unknown id.
    """
    if not set(needed_features) <= CORE_FEATURES:
        return False
    return any(profile_of(rid) == Profile.CORE for rid in ids)

