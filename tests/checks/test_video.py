"""Unit tests of conformance.checks.video on canned task objects."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.checks import video as vd
from conformance.model import Exchange, Violation


def pairs(violations: list[Violation]) -> list[tuple[str, str | None]]:
    return [(v.requirement, v.where) for v in violations]


def task(status: str = "queued", progress: Any = 0, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": "video_1", "object": "video", "model": "ref-video", "status": status,
                            "progress": progress, "created_at": 1700000000}
    body.update(over)
    return body


DONE = task("completed", 100, data=[{"url": "http://127.0.0.1:1/assets/v.mp4", "format": "mp4"}])
FAILED = task("failed", 30, error={"code": "content_policy", "message": "Refused."})


def history(*tasks: dict[str, Any]) -> list[tuple[str, Any]]:
    return [("submit", tasks[0])] + [(f"poll[{i}]", t) for i, t in enumerate(tasks[1:])]


def test_task_schema() -> None:
    assert vd.check_task_schema(task(), requirement="video.submit-shape", where="submit") == []
    assert vd.check_task_schema(DONE, requirement="video.retrieve-shape", where="poll[1]") == []
    assert pairs(vd.check_task_schema(task(object="task"), requirement="video.submit-shape", where="submit")) == [
        ("video.submit-shape", "submit/object")]
    # status and progress are judged by check_history
    assert vd.check_task_schema(task("done", 150), requirement="video.retrieve-shape", where="poll[0]") == []


def test_same_task() -> None:
    assert vd.check_same_task(task(), "video_1", where="poll[0]") == []
    assert pairs(vd.check_same_task(task(id="video_2"), "video_1", where="poll[2]")) == [
        ("video.retrieve-shape", "poll[2]/id")]


@pytest.mark.parametrize(
    ("tasks", "expected"),
    [
        ([task(), task("in_progress", 50), DONE], []),
        ([task(), task(), task("in_progress", 10), task("in_progress", 10), FAILED], []),
        ([task(), task("running", 10)], [("video.status-enum", "poll[0]/status")]),
        ([task("in_progress", 50), task("queued", 50)], [("video.status-monotonic", "poll[0]/status")]),
        ([task(), DONE, task("in_progress", 100)], [("video.status-monotonic", "poll[1]/status")]),
        ([task(), DONE, FAILED], [("video.status-monotonic", "poll[1]/status"),
                                  ("video.progress", "poll[1]/progress")]),
        ([task(), task("in_progress", 150)], [("video.progress", "poll[0]/progress")]),
        ([task(), task("in_progress", "50%")], [("video.progress", "poll[0]/progress")]),
        ([task("in_progress", 60), task("in_progress", 40)], [("video.progress", "poll[0]/progress")]),
    ],
    ids=["completed", "failed", "enum", "backwards", "after-completed", "terminal-change", "over-100",
         "string", "decreasing"],
)
def test_history(tasks: list[dict[str, Any]], expected: list[tuple[str, str]]) -> None:
    assert pairs(vd.check_history(history(*tasks))) == expected


def test_terminal() -> None:
    assert vd.check_terminal(DONE, where="poll[3]", deadline=10) == []
    assert vd.check_terminal(FAILED, where="poll[3]", deadline=10) == []
    assert pairs(vd.check_terminal(task("in_progress", 50), where="poll[9]", deadline=10)) == [
        ("video.terminal", "poll[9]/status")]


def test_completed() -> None:
    assert vd.check_completed(DONE, where="poll[1]") == []
    assert vd.completed_url(DONE) == "http://127.0.0.1:1/assets/v.mp4"
    assert pairs(vd.check_completed(task("completed", 100, data=[]), where="poll[1]")) == [
        ("video.completed-data", "poll[1]/data")]
    relative = task("completed", 100, data=[{"url": "/assets/v.mp4"}])
    assert pairs(vd.check_completed(relative, where="poll[1]")) == [("video.completed-data", "poll[1]/data/0/url")]
    no_url = task("completed", 100, data=[{"format": "mp4"}])
    assert ("video.completed-data", "poll[1]/data/0") in pairs(vd.check_completed(no_url, where="poll[1]"))


def test_fetched_video() -> None:
    ok = Exchange("GET", "http://x/a", {}, None, 200, {}, b"\x00\x00\x00\x18ftypmp42")
    assert vd.check_fetched_video(ok, where="poll[1]") == []
    for status, body in ((404, b"{}"), (200, b"")):
        ex = Exchange("GET", "http://x/a", {}, None, status, {}, body)
        assert pairs(vd.check_fetched_video(ex, where="poll[1]")) == [("video.completed-data", "poll[1]/data/0/url")]


def test_failed() -> None:
    assert vd.check_failed(FAILED, where="poll[2]") == []
    assert vd.check_failed(task("failed", 0, error={"code": 500, "message": "Boom."}), where="poll[2]") == []
    assert pairs(vd.check_failed(task("failed", 0), where="poll[2]")) == [("video.failed-error", "poll[2]/error")]
    assert pairs(vd.check_failed(task("failed", 0, error={"message": "x"}), where="poll[2]")) == [
        ("video.failed-error", "poll[2]/error")]


def test_task_schema_leaves_state_payload_to_the_state_checks() -> None:
    assert vd.check_task_schema(task("completed", 100), requirement="video.retrieve-shape", where="poll[0]") == []
    assert vd.check_task_schema(task("failed", 10), requirement="video.retrieve-shape", where="poll[0]") == []
