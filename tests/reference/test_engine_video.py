"""Unit tests of the reference's video task engine: shapes, lifecycle, asset, faults."""

from __future__ import annotations

import struct
import threading
from typing import Any

import pytest

from conformance.reference.api_error import ApiError
from conformance.reference.engines.assets import AssetStore
from conformance.reference.engines.video import VideoTasks, lifecycle, mp4_bytes
from conformance.reference.faultset import FaultSet

CLEAN = FaultSet()
BASE = "http://127.0.0.1:8123/v1"
ORDER = {"queued": 0, "in_progress": 1, "completed": 2, "failed": 2}
TASK_KEYS = {"id", "object", "model", "status", "progress", "created_at"}


def faults(*names: str) -> FaultSet:
    return FaultSet(frozenset(names))


def poll_all(
    fault_set: FaultSet = CLEAN, prompt: str = "a cat surfing", polls: int = 5, **kwargs: int
) -> tuple[VideoTasks, AssetStore, list[dict[str, Any]]]:
    """Submit then poll ``polls`` times; the list holds the submit answer and every poll."""
    store = AssetStore()
    tasks = VideoTasks(store, **kwargs)
    first = tasks.submit({"model": "ref-video", "prompt": prompt}, fault_set, public_base=BASE)
    task_id = first["id"] if "id" in first else ""
    return tasks, store, [first] + [tasks.get(task_id, fault_set) for _ in range(polls)]


def never_backwards(seen: list[dict[str, Any]]) -> bool:
    ranks = [ORDER[s["status"]] for s in seen]
    progress = [s["progress"] for s in seen]
    return ranks == sorted(ranks) and progress == sorted(progress)


def test_lifecycle_queued_in_progress_completed() -> None:
    _, store, seen = poll_all()
    assert [(s["status"], s["progress"]) for s in seen[:3]] == [("queued", 0), ("in_progress", 50), ("completed", 100)]
    assert never_backwards(seen) and all(set(s) >= TASK_KEYS for s in seen)
    assert all(s["id"] == seen[0]["id"] and s["object"] == "video" for s in seen)
    (item,) = seen[-1]["data"]
    assert item["url"].startswith(BASE + "/assets/") and item["format"] == "mp4"
    data, content_type = store.get(item["url"].rsplit("/", 1)[1]) or (b"", "")
    assert content_type == "video/mp4" and data[4:8] == b"ftyp" and b"moov" in data
    assert {"duration", "width", "height", "fps", "seed"} <= set(item)


@pytest.mark.parametrize("polls_to_complete", [1, 2, 4])
def test_lifecycle_length_follows_polls_to_complete(polls_to_complete: int) -> None:
    _, _, seen = poll_all(polls_to_complete=polls_to_complete, polls=6)
    statuses = [s["status"] for s in seen]
    assert statuses.index("completed") == polls_to_complete and never_backwards(seen)


def test_fail_prompt_gives_failed_with_error() -> None:
    _, _, seen = poll_all(prompt="please FAIL this one")
    assert seen[-1]["status"] == "failed" and set(seen[-1]["error"]) == {"code", "message"}
    assert "data" not in seen[-1] and never_backwards(seen)
    assert poll_all(prompt="failure is not the word")[2][-1]["status"] == "completed"


def test_ids_are_deterministic_and_distinct_per_submission() -> None:
    tasks = VideoTasks(AssetStore())
    request = {"model": "ref-video", "prompt": "same"}
    first, second = (tasks.submit(request, CLEAN, public_base=BASE) for _ in range(2))
    assert first["id"] != second["id"]
    assert VideoTasks(AssetStore()).submit(request, CLEAN, public_base=BASE) == first


def test_request_parameters_shape_the_result() -> None:
    tasks = VideoTasks(AssetStore(), polls_to_complete=1)
    request = {"model": "ref-video", "prompt": "p", "duration": 6, "size": "640x480", "fps": 30, "seed": 7}
    task_id = tasks.submit(request, CLEAN, public_base=BASE)["id"]
    (item,) = tasks.get(task_id, CLEAN)["data"]
    assert (item["duration"], item["width"], item["height"], item["fps"], item["seed"]) == (6.0, 640, 480, 30, 7)


def test_unknown_task_and_bad_prompt() -> None:
    tasks = VideoTasks(AssetStore())
    with pytest.raises(ApiError) as caught:
        tasks.get("video_nope", CLEAN)
    assert caught.value.status == 404 and caught.value.code == "not_found"
    with pytest.raises(ApiError):
        tasks.submit({"model": "ref-video", "prompt": None}, CLEAN, public_base=BASE)
    assert tasks.submit({"model": "ref-video", "prompt": ""}, CLEAN, public_base=BASE)["status"] == "queued"
    with pytest.raises(ValueError):
        VideoTasks(AssetStore(), polls_to_complete=0)


def test_polls_from_threads_never_go_backwards() -> None:
    tasks = VideoTasks(AssetStore(), polls_to_complete=10)
    task_id = tasks.submit({"model": "ref-video", "prompt": "p"}, CLEAN, public_base=BASE)["id"]
    seen: list[dict[str, Any]] = []
    lock = threading.Lock()

    def poll() -> None:
        for _ in range(5):
            answer = tasks.get(task_id, CLEAN)
            with lock:
                seen.append(answer)

    workers = [threading.Thread(target=poll) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(s["progress"] for s in seen)[-1] == 100
    assert sum(s["status"] == "completed" for s in seen) == 20 - 9


def test_mp4_boxes() -> None:
    data = mp4_bytes(4.0)
    (ftyp_size,) = struct.unpack(">I", data[:4])
    assert data[4:12] == b"ftypisom" and data[ftyp_size + 4 : ftyp_size + 8] == b"moov"
    assert len(data) == ftyp_size + struct.unpack(">I", data[ftyp_size : ftyp_size + 4])[0]


# --- faults -------------------------------------------------------------------------------------------


def test_fault_submit_shape_only_touches_submit() -> None:
    _, _, seen = poll_all(faults("video.submit-shape"))
    assert seen[0]["object"] != "video" and "created_at" not in seen[0]
    assert all(set(s) >= TASK_KEYS and s["object"] == "video" for s in seen[1:])


def test_fault_retrieve_shape_changes_the_id() -> None:
    _, _, seen = poll_all(faults("video.retrieve-shape"))
    assert all(s["id"] != seen[0]["id"] for s in seen[1:]) and seen[-1]["status"] == "completed"


def test_fault_status_enum() -> None:
    _, _, seen = poll_all(faults("video.status-enum"), polls_to_complete=1)
    assert "processing" in [s["status"] for s in seen] and seen[-1]["status"] == "completed"


def test_fault_status_monotonic_goes_backwards_before_the_terminal_state() -> None:
    _, _, seen = poll_all(faults("video.status-monotonic"), polls_to_complete=1)
    statuses = [s["status"] for s in seen]
    first_terminal = statuses.index("completed")
    ranks = [ORDER[status] for status in statuses[: first_terminal + 1]]  # a suite stops polling here
    assert ranks != sorted(ranks) and statuses[first_terminal:] == ["completed"] * (len(statuses) - first_terminal)
    assert [s["progress"] for s in seen] == sorted(s["progress"] for s in seen)
    assert "completed" in [s["status"] for s in seen]


def test_fault_progress_variants() -> None:
    _, _, seen = poll_all(faults("video.progress"))
    assert seen[-1]["progress"] == 150 and seen[-1]["status"] == "completed"
    _, _, seen = poll_all(faults("video.progress@decreasing"), polls_to_complete=1)
    progress = [s["progress"] for s in seen]
    assert progress != sorted(progress) and all(0 <= p <= 100 for p in progress)


def test_fault_terminal_never_completes() -> None:
    _, _, seen = poll_all(faults("video.terminal"), polls=20)
    assert {s["status"] for s in seen[1:]} == {"in_progress"} and never_backwards(seen)


def test_fault_completed_data_is_empty() -> None:
    _, _, seen = poll_all(faults("video.completed-data"))
    assert seen[-1]["status"] == "completed" and seen[-1]["data"] == []


def test_fault_failed_error_fails_without_error() -> None:
    _, _, seen = poll_all(faults("video.failed-error"))
    assert seen[-1]["status"] == "failed" and "error" not in seen[-1] and never_backwards(seen)


def test_fault_unknown_task_gets_a_queued_task() -> None:
    answer = VideoTasks(AssetStore()).get("video_nope", faults("video.unknown-task-404"))
    assert answer["id"] == "video_nope" and answer["status"] == "queued"


def test_lifecycle_clean_has_no_regression_for_any_length() -> None:
    for steps in range(1, 6):
        for fails in (False, True):
            states = lifecycle(steps, fails=fails, faults=CLEAN)
            assert [ORDER[s] for s, _ in states] == sorted(ORDER[s] for s, _ in states)
            assert [p for _, p in states] == sorted(p for _, p in states) and states[-1][0] in {"completed", "failed"}
