"""Scenarios for video generation tasks (SPEC-DECISIONS §21; catalogue video.*).

One task is submitted (video is costly) and polled until it is completed or failed, bounded by
settings.timeouts.video_deadline; the sleep between polls (video_poll_interval) is the only
wait of the whole suite. Every observation is checked: status never backwards, progress
0..100 never decreasing. An unknown task id gets 404.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from conformance.checks.errors import CLIENT_ERROR_IDS, SERVED_IDS, check_client_error, check_served
from conformance.checks.models import check_json_body
from conformance.checks.video import (
    TERMINAL,
    check_completed,
    check_failed,
    check_fetched_video,
    check_history,
    check_same_task,
    check_task_schema,
    check_terminal,
    completed_url,
)
from conformance.config import Settings
from conformance.model import Exchange

if TYPE_CHECKING:
    from conformance.recorder import VerdictRecorder
    from conformance.transport import Transport

PROMPT = "A red ball rolling slowly across a white floor."
#: A prompt that asks the task to fail (the reference fails it; a real target may complete it,
#: and then video.failed-error stays unjudged: NOT_RUN, never an unearned PASS).
FAIL_PROMPT = "Please fail this task: it exists to show how a failed task is reported."
UNKNOWN_TASK = "video-nexhina-conformance-no-such-task"


def _task(verdict: VerdictRecorder, ex: Exchange, requirement: str, where: str) -> Any:
    """The decoded task object of a served answer after its schema check, or None."""
    if not verdict.check(check_served(ex, requirement=requirement), exchange=ex):
        return None
    if not verdict.check(check_json_body(ex, requirement=requirement), exchange=ex):
        return None
    task = ex.json()
    verdict.check(check_task_schema(task, requirement=requirement, where=where), exchange=ex)
    return task if isinstance(task, dict) else None


def _poll(transport: Transport, verdict: VerdictRecorder, settings: Settings, task_id: str,
          observations: list[tuple[str, Any]]) -> tuple[Exchange, Any]:
    """Poll (at least once) until a terminal status or the deadline.

    Returns the last exchange and task seen; the task is None when a poll broke the shape.
    """
    deadline = time.monotonic() + settings.timeouts.video_deadline
    path = "/video/generations/" + quote(task_id, safe="")
    while True:
        where = f"poll[{len(observations) - 1}]"
        ex = transport.request("GET", path)
        task = _task(verdict, ex, "video.retrieve-shape", where)
        if task is None or not verdict.check(check_same_task(task, task_id, where=where), exchange=ex):
            return ex, None
        observations.append((where, task))
        if task.get("status") in TERMINAL or time.monotonic() >= deadline:
            return ex, task
        time.sleep(settings.timeouts.video_poll_interval)


@pytest.mark.feature("video")
@pytest.mark.requirements(
    "video.submit-shape", "video.retrieve-shape", "video.status-enum", "video.status-monotonic",
    "video.progress", "video.terminal", "video.completed-data", *SERVED_IDS,
)
def test_video_lifecycle(transport: Transport, models: Mapping[str, str], settings: Settings,
                         verdict: VerdictRecorder) -> None:
    """Submit, poll to a terminal state; a completed task has a fetchable url."""
    submit = transport.request("POST", "/video/generations", json={"model": models["video"], "prompt": PROMPT})
    task = _task(verdict, submit, "video.submit-shape", "submit")
    if task is None or not isinstance(task.get("id"), str):
        return  # no task id to poll: the schema check reported it
    observations: list[tuple[str, Any]] = [("submit", task)]
    evidence, last = _poll(transport, verdict, settings, task["id"], observations)
    verdict.check(check_history(observations), exchange=evidence)
    if last is None:
        return
    where = observations[-1][0]
    if not verdict.check(check_terminal(last, where=where, deadline=settings.timeouts.video_deadline),
                         exchange=evidence):
        return
    if last.get("status") == "failed":
        return  # a failed task is judged by test_video_failed_task; nothing completed to judge here
    if not verdict.check(check_completed(last, where=where), exchange=evidence):
        return
    url = completed_url(last)
    if url is not None:
        fetched = transport.fetch(url)
        verdict.check(check_fetched_video(fetched, where=where), exchange=fetched)


@pytest.mark.feature("video")
@pytest.mark.requirements("video.failed-error", "video.submit-shape", "video.retrieve-shape", *SERVED_IDS)
def test_video_failed_task(transport: Transport, models: Mapping[str, str], settings: Settings,
                           verdict: VerdictRecorder) -> None:
    """A task asked to fail, if it does fail, carries error with code and message."""
    submit = transport.request("POST", "/video/generations", json={"model": models["video"], "prompt": FAIL_PROMPT})
    task = _task(verdict, submit, "video.submit-shape", "submit")
    if task is None or not isinstance(task.get("id"), str):
        return
    observations: list[tuple[str, Any]] = [("submit", task)]
    evidence, last = _poll(transport, verdict, settings, task["id"], observations)
    if last is not None and last.get("status") == "failed":
        verdict.check(check_failed(last, where=observations[-1][0]), exchange=evidence)


@pytest.mark.feature("video")
@pytest.mark.requirements("video.unknown-task-404", *CLIENT_ERROR_IDS)
def test_video_unknown_task(transport: Transport, verdict: VerdictRecorder) -> None:
    """An unknown task id gets 404 with the error envelope."""
    ex = transport.request("GET", "/video/generations/" + UNKNOWN_TASK)
    verdict.check(check_client_error(ex, (404,), requirement="video.unknown-task-404"), exchange=ex)
