"""The ``verdict`` fixture's object: what one test saw, and the record it leaves for the run.

A test hands every step's violations to :meth:`VerdictRecorder.check`; it never decides FAIL
or WARN itself. At the end of the test each exchange behind a violation is replayed through
the official SDK (``conformance.sdk``) so its evidence says what a real client makes of it.
The plugin turns the recorder into a :class:`~conformance.verdicts.TestRecord`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from conformance.errors import CatalogueError
from conformance.messages import render_exchange, violation_text
from conformance.model import Exchange, Level, Violation
from conformance.requirements import Catalogue
from conformance.sdk.replay import client_impact_text
from conformance.verdicts import ViolationRecord


@dataclass(frozen=True)
class Observed:
    """One violation with the exchange that showed it."""

    violation: Violation
    exchange: Exchange | None


class VerdictRecorder:
    """Collects the violations of one test, bound to the ids the test declared."""

    def __init__(self, catalogue: Catalogue, declared: Iterable[str]) -> None:
        self._catalogue = catalogue
        self.declared = tuple(declared)
        self.observed: list[Observed] = []
        self.exchanges: list[Exchange] = []
        self._impacts: dict[int, str] = {}

    def check(self, violations: Iterable[Violation], exchange: Exchange | None = None) -> bool:
        """Record the violations of one step; True when there were none.

        Raises:
            CatalogueError: a violation names an id the test did not declare (a bug of ours).
        """
        found = list(violations)
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
        """All violations of ``level`` rendered as failure blocks."""
        blocks = [
            violation_text(self._catalogue[o.violation.requirement], o.violation, o.exchange)
            for o in self.of_level(level)
        ]
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
        """The violations as plain records for the run's verdicts."""
        return tuple(
            ViolationRecord(
                requirement=o.violation.requirement,
                expected=o.violation.expected,
                actual=o.violation.actual,
                where=o.violation.where,
                curl=o.exchange.curl() if o.exchange is not None else None,
                client_impact=self.client_impact(o.exchange),
            )
            for o in self.observed
        )
