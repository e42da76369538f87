"""The ``verdict`` fixture's object: what one test saw, and the record it leaves for the run.

A test hands every step's violations to :meth:`VerdictRecorder.check`; it never decides FAIL
or WARN itself. The recorder also keeps the ids the checks judged (an earned PASS: see
:class:`~conformance.model.Findings`) and collapses identical violations at sibling locations
into one record. At the end of the test each exchange behind a violation is replayed through
the official SDK (``conformance.sdk``) so its evidence says what a real client makes of it.
The plugin turns the recorder into a :class:`~conformance.verdicts.TestRecord`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from conformance.errors import CatalogueError
from conformance.messages import render_exchange, violation_text
from conformance.model import Exchange, Findings, Level, Violation
from conformance.requirements import Catalogue
from conformance.sdk.replay import client_impact_text
from conformance.verdicts import ViolationRecord

#: How many sibling locations a collapsed violation lists (the rest are counted).
LOCATIONS_SHOWN = 3

_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
_DIGITS = re.compile(r"\d+")
_INDEX = re.compile(r"(?<=/)\d+(?=/|$)|(?<=\[)\d+(?=\])")


@dataclass(frozen=True)
class Observed:
    """One violation with the exchange that showed it."""

    violation: Violation
    exchange: Exchange | None


@dataclass(frozen=True)
class Collapsed:
    """Identical violations at sibling locations: the first one, how many, and where."""

    first: Observed
    count: int
    locations: tuple[str, ...]

    @property
    def where(self) -> str | None:
        """The location of a single violation, or the first few of several and how many."""
        if self.count == 1:
            return self.first.violation.where
        shown = ", ".join(self.locations[:LOCATIONS_SHOWN])
        more = f" and {self.count - LOCATIONS_SHOWN} more" if self.count > LOCATIONS_SHOWN else ""
        return f"{shown}{more} ({self.count} locations)"


def sibling_key(observed: Observed) -> tuple[object, ...]:
    """What makes violations siblings: requirement, rule, exchange, location up to array indexes."""
    v = observed.violation
    pattern = _INDEX.sub("*", v.where) if v.where is not None else None
    return (v.requirement, v.expected, _shape(v.actual), pattern, id(observed.exchange))


def _shape(actual: str) -> str:
    """The kind of an observed value, so that 1.5 and 2.25 (or [1] and [2, 3]) count as alike."""
    text = actual.strip()
    if text[:1] in ('"', "["):
        return "string" if text[0] == '"' else "array"
    if text[:1] == "{":
        return "object"
    if _NUMBER.fullmatch(text):
        return "number"
    return _DIGITS.sub("#", text)


def collapse(observed: Sequence[Observed]) -> list[Collapsed]:
    """Group identical violations at sibling locations (e.g. /data/0/embedding/3 and /7), in order."""
    groups: dict[tuple[object, ...], list[Observed]] = {}
    for item in observed:
        groups.setdefault(sibling_key(item), []).append(item)
    return [
        Collapsed(items[0], len(items), tuple(o.violation.where or "" for o in items))
        for items in groups.values()
    ]


class VerdictRecorder:
    """Collects the violations of one test, bound to the ids the test declared."""

    def __init__(self, catalogue: Catalogue, declared: Iterable[str]) -> None:
        self._catalogue = catalogue
        self.declared = tuple(declared)
        self.observed: list[Observed] = []
        self.exchanges: list[Exchange] = []
        self.judged: set[str] = set()
        self._impacts: dict[int, str] = {}

    def check(self, violations: Iterable[Violation], exchange: Exchange | None = None) -> bool:
        """Record the violations of one step; True when there were none.

        ``violations`` from a check carry the ids it judged (:class:`Findings`); a plain list
        earns only the ids it violates, so a requirement passes only where a check looked.

        Raises:
            CatalogueError: a violation names an id the test did not declare (a bug of ours).
        """
        if isinstance(violations, Findings):
            self.judged |= violations.judged
        found = list(violations)
        self.judged |= {v.requirement for v in found}
        if exchange is not None and exchange not in self.exchanges:
            self.exchanges.append(exchange)
        for violation in found:
            if violation.requirement not in self.declared:
                raise CatalogueError(
                    f"a check reported {violation.requirement!r}, which this test does not declare "
                    f"in @pytest.mark.requirements (declared: {', '.join(self.declared)})"
                )
            self.observed.append(Observed(violation, exchange))
        return not found

    def of_level(self, level: Level) -> list[Observed]:
        """The observed violations whose requirement has ``level``."""
        return [o for o in self.observed if self._catalogue[o.violation.requirement].level is level]

    def failure_text(self, level: Level = Level.MUST) -> str:
        """All violations of ``level`` rendered as failure blocks (siblings collapsed into one)."""
        blocks = []
        for group in collapse(self.of_level(level)):
            first = group.first.violation
            shown = Violation(first.requirement, first.expected, first.actual, group.where)
            blocks.append(violation_text(self._catalogue[first.requirement], shown, group.first.exchange))
        return "\n\n".join(blocks)

    def transcripts(self) -> list[tuple[str, str]]:
        """(name, text) of every exchange behind a violation, for attachments."""
        seen: list[Exchange] = []
        for observed in self.observed:
            if observed.exchange is not None and observed.exchange not in seen:
                seen.append(observed.exchange)
        return [(f"exchange {i}: {ex.method} {ex.url}", render_exchange(ex)) for i, ex in enumerate(seen)]

    def client_impact(self, exchange: Exchange | None) -> str | None:
        """What the official SDK makes of ``exchange`` (replayed once, never re-sent), or None."""
        if exchange is None:
            return None
        key = id(exchange)
        if key not in self._impacts:
            self._impacts[key] = client_impact_text(exchange)
        return self._impacts[key]

    def impact_lines(self) -> list[str]:
        """``requirement: impact`` for every violation behind an exchange, for attachments."""
        return [
            f"{o.violation.requirement}: {impact}"
            for o in self.observed
            if (impact := self.client_impact(o.exchange)) is not None
        ]

    def records(self) -> tuple[ViolationRecord, ...]:
        """The violations as plain records for the run's verdicts (siblings collapsed into one)."""
        return tuple(
            ViolationRecord(
                requirement=g.first.violation.requirement,
                expected=g.first.violation.expected,
                actual=g.first.violation.actual,
                where=g.where,
                curl=g.first.exchange.curl() if g.first.exchange is not None else None,
                count=g.count,
                client_impact=self.client_impact(g.first.exchange),
            )
            for g in collapse(self.observed)
        )

    def judged_ids(self) -> tuple[str, ...]:
        """The declared ids some check of this test judged, sorted (the only ones that may PASS)."""
        return tuple(sorted(self.judged & set(self.declared)))
