"""The served / JSON preamble every operation suite judges an answer with (one place for it).

A served answer (2xx, no error envelope) whose body is JSON is decoded and handed back for the
suite's own shape checks; anything else is recorded against the caller's requirements and
ends the judging of that answer (``None``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conformance.checks.errors import check_served
from conformance.checks.models import check_json_body

if TYPE_CHECKING:
    from conformance.model import Exchange
    from conformance.recorder import VerdictRecorder


@dataclass(frozen=True)
class Served:
    """A served JSON answer; ``body`` may be any JSON value, ``null`` included (the schema judges it)."""

    body: Any


def served_json(verdict: VerdictRecorder, ex: Exchange, requirement: str, *, schema: str) -> Served | None:
    """The decoded body of ``ex`` when it was served as JSON, else ``None`` (violations recorded).

    Args:
        verdict: the test's recorder.
        ex: the answer to judge.
        requirement: charged when the request was not served (``check_served``).
        schema: the operation's schema requirement, charged when the body is not JSON.
    """
    if not verdict.check(check_served(ex, requirement=requirement), exchange=ex):
        return None
    if not verdict.check(check_json_body(ex, requirement=schema), exchange=ex):
        return None
    return Served(ex.json())
