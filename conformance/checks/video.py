"""Checks for video generation tasks (SPEC-DECISIONS §21, catalogue video.*).

Owns the task object on submit and on every poll, the status and progress history (never
backwards), the terminal state and its payload (data for completed, error for failed).
``where`` names the observation: ``submit`` or ``poll[<n>]``. Polling itself (and its only
wait, settings.timeouts.video_poll_interval) is the suite's job.
Imports conformance.model and conformance.spec only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from conformance import spec
from conformance.checks._common import owned_by
from conformance.checks._judged import judges
from conformance.model import Exchange, Violation, truncate

STATUSES = ("queued", "in_progress", "completed", "failed")
TERMINAL = frozenset({"completed", "failed"})
_RANK = {"queued": 0, "in_progress": 1, "completed": 2, "failed": 2}

# Status and progress have their own requirements; data and error are judged by state.
_OWNED = (re.compile(r"^/(status|progress|data|error)(/|$)"),)


@judges(param="requirement")
def check_task_schema(task: Any, *, requirement: str, where: str) -> list[Violation]:
    """The task object validates against VideoGenerationResponse (minus what other checks own).

    Args:
        requirement: ``video.submit-shape`` for the submit answer, ``video.retrieve-shape``
            for a poll.
        where: ``submit`` or ``poll[<n>]``.
    """
    found = spec.validate(task, "VideoGenerationResponse", requirement=requirement)
    return [
        Violation(v.requirement, v.expected, v.actual, where + ("" if v.where in (None, "/") else v.where))
        for v in found
        if not owned_by(v, _OWNED) and not _state_payload_missing(v)
    ]


def _state_payload_missing(violation: Violation) -> bool:
    """A root-level "'data'/'error' is a required property" from the schema's status rules.

    Those belong to video.completed-data / video.failed-error, judged with the terminal state.
    """
    return violation.where in (None, "", "/") and any(f"'{name}' is a required property" in violation.expected
                                       for name in ("data", "error"))


@judges("video.retrieve-shape")
def check_same_task(task: Any, task_id: str, *, where: str) -> list[Violation]:
    """A poll returns the task that was submitted (same id)."""
    actual = task.get("id") if isinstance(task, dict) else None
    if actual == task_id:
        return []
    return [Violation("video.retrieve-shape", f"id {task_id!r}", truncate(actual), f"{where}/id")]


@judges("video.status-enum", "video.status-monotonic", "video.progress")
def check_history(observations: Sequence[tuple[str, Any]]) -> list[Violation]:
    """Status in the enum and never backwards; progress within 0..100 and never decreasing.

    Args:
        observations: (where, task object) in the order seen, submit first.
    """
    found: list[Violation] = []
    last_status: tuple[str, str] | None = None
    last_progress: tuple[str, float] | None = None
    for where, task in observations:
        if not isinstance(task, dict):
            continue
        status = task.get("status")
        if status not in _RANK:
            found.append(Violation("video.status-enum", f"one of {list(STATUSES)}", truncate(status),
                                   f"{where}/status"))
        elif last_status is not None and _backwards(last_status[1], status):
            found.append(Violation("video.status-monotonic", f"no step back from {last_status[1]!r} "
                                   f"({last_status[0]})", truncate(status), f"{where}/status"))
        if status in _RANK:
            last_status = (where, status)
        progress: Any = task.get("progress")
        found += _progress(where, progress, last_progress)
        if _is_number(progress):
            last_progress = (where, float(progress))
    return found


def _backwards(before: str, after: str) -> bool:
    """A status change that moves back (or leaves a terminal state)."""
    return _RANK[after] < _RANK[before] or (before in TERMINAL and after != before)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _progress(where: str, progress: Any, last: tuple[str, float] | None) -> list[Violation]:
    if progress is None:
        return []  # absence is a schema matter
    if not _is_number(progress) or not 0 <= progress <= 100:
        return [Violation("video.progress", "a number within 0..100", truncate(progress), f"{where}/progress")]
    if last is not None and progress < last[1]:
        return [Violation("video.progress", f"progress >= {last[1]:g} (as at {last[0]})", truncate(progress),
                          f"{where}/progress")]
    return []


@judges("video.terminal")
def check_terminal(task: Any, *, where: str, deadline: float) -> list[Violation]:
    """The last observation before the deadline is completed or failed."""
    status = task.get("status") if isinstance(task, dict) else None
    if status in TERMINAL:
        return []
    return [Violation("video.terminal", f"completed or failed within {deadline:g} s", truncate(status),
                      f"{where}/status")]


def completed_url(task: Any) -> str | None:
    """data[0].url of a completed task, when it is a string."""
    data = task.get("data") if isinstance(task, dict) else None
    first = data[0] if isinstance(data, list) and data else None
    url = first.get("url") if isinstance(first, dict) else None
    return url if isinstance(url, str) else None


@judges("video.completed-data")
def check_completed(task: Any, *, where: str) -> list[Violation]:
    """A completed task carries a non-empty VideoData list whose first url is absolute."""
    data = task.get("data") if isinstance(task, dict) else None
    if not isinstance(data, list) or not data:
        return [Violation("video.completed-data", "a non-empty data list", truncate(data), f"{where}/data")]
    found = []
    for i, item in enumerate(data):
        found += spec.validate(item, "VideoData", requirement="video.completed-data", where=f"{where}/data/{i}")
    url = completed_url(task)
    parts = urlsplit(url or "")
    already = any(v.where == f"{where}/data/0/url" for v in found)
    if not already and (parts.scheme not in ("http", "https") or not parts.netloc):
        found.append(Violation("video.completed-data", "an absolute http(s) url", truncate(url),
                               f"{where}/data/0/url"))
    return found


@judges("video.completed-data")
def check_fetched_video(exchange: Exchange, *, where: str) -> list[Violation]:
    """The completed video's url answers 200 with a non-empty body."""
    if exchange.status == 200 and exchange.body:
        return []
    return [Violation("video.completed-data", "200 with the video bytes at data[0].url",
                      f"{exchange.status} with {len(exchange.body)} bytes", f"{where}/data/0/url")]


@judges("video.failed-error")
def check_failed(task: Any, *, where: str) -> list[Violation]:
    """A failed task carries error {code, message} (VideoTaskError)."""
    error = task.get("error") if isinstance(task, dict) else None
    if error is None:
        return [Violation("video.failed-error", "error {code, message}", "null or absent", f"{where}/error")]
    return spec.validate(error, "VideoTaskError", requirement="video.failed-error", where=f"{where}/error")
