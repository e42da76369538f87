"""Coverage-case sampling of the property suite (cost control), a pure function of case keys.

This module owns :func:`select_cases`: the coverage phase enumerates hundreds of cases for the
chat operation; every probe is kept and a small, diverse, deterministic sample of the rest.
No I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# --------------------------------------------------------------------------- coverage sampling


@dataclass(frozen=True, slots=True)
class CaseKey:
    """What the sampler knows of one coverage case.

    Attributes:
        index: position in the phase's order.
        group: ``probe`` (always kept), ``positive`` or ``negative``.
        family: cases of one family test the same thing (scenario and top-level field).
        detail: tells cases of one family apart (the full description).
    """

    index: int
    group: str
    family: str
    detail: str = ""


def select_cases(keys: Sequence[CaseKey], *, positive: int, negative: int) -> frozenset[int]:
    """The indexes of the coverage cases to send: every probe, and a diverse sample of the rest.

    Per group, families take turns (round robin in phase order), one new case per family per
    turn, until the group's quota is met; so a quota of five covers five different fields or
    scenarios before a second case of any of them. Deterministic: the same keys give the same
    selection.
    """
    chosen = {k.index for k in keys if k.group == "probe"}
    for group, quota in (("positive", positive), ("negative", negative)):
        families: dict[str, list[int]] = {}
        for key in keys:
            if key.group == group:
                families.setdefault(key.family, []).append(key.index)
        queues = list(families.values())
        taken = 0
        turn = 0
        while taken < quota and any(turn < len(q) for q in queues):
            for queue in queues:
                if taken >= quota:
                    break
                if turn < len(queue):
                    chosen.add(queue[turn])
                    taken += 1
            turn += 1
    return frozenset(chosen)
