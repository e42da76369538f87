"""The reference's video task engine (SPEC-DECISIONS 21): a lifecycle that advances per poll.

``submit`` answers a ``queued`` task (progress 0). Each ``get`` of the task is one poll: the
task is ``in_progress`` (progress rising) until poll ``polls_to_complete``, which is terminal:
``completed`` (progress 100, ``data`` with the URL of a small MP4 in the asset store) or,
when the prompt contains the word "fail", ``failed`` with ``error {code, message}``. Later
polls repeat the terminal state. Tasks live in memory for the life of the app.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.reference.api_error import ApiError
from conformance.reference.engines.assets import AssetStore
from conformance.reference.faultset import FaultSet
from conformance.reference.models import MODEL_CREATED, MODELS

FAULTS: dict[str, str] = {
    "video.submit-shape": "the submit answer has object 'video.task' and no created_at (retrieve is sound).",
    "video.retrieve-shape": "GET answers the task under a different id (<id>-retrieved).",
    "video.status-enum": "the running status is 'processing' instead of 'in_progress'.",
    "video.status-monotonic": "in_progress, then queued again, then terminal (one poll later).",
    "video.progress": "the terminal state reports progress 150.",
    "video.progress@decreasing": "the terminal state reports progress 0 after in_progress 50.",
    "video.terminal": "the task never completes: in_progress (progress 50) forever.",
    "video.completed-data": "a completed task has an empty data list.",
    "video.failed-error": "every task fails, and without an error object.",
    "video.unknown-task-404": "an unknown task id gets 200 with a queued task object.",
}

_FAIL_WORD = re.compile(r"\bfail\b", re.IGNORECASE)
_SECONDS_PER_YEAR = 31_536_000
_State = tuple[str, int]  # (status, progress)


@dataclass
class _Task:
    id: str
    model: str
    created_at: int
    public_base: str
    fails: bool
    video: dict[str, Any]  # duration, width, height, fps, seed of the result
    polls: int = 0


class VideoTasks:
    """The video tasks of one app: thread-safe, deterministic per submission order."""

    def __init__(self, assets: AssetStore, *, polls_to_complete: int = 2) -> None:
        if polls_to_complete < 1:
            raise ValueError(f"polls_to_complete must be >= 1, got {polls_to_complete}")
        self._assets = assets
        self._polls = polls_to_complete
        self._lock = threading.Lock()
        self._tasks: dict[str, _Task] = {}
        self._submissions: dict[str, int] = {}

    def submit(self, body: Mapping[str, Any], faults: FaultSet, *, public_base: str) -> dict[str, Any]:
        """Create a task for a VideoGenerationRequest and answer it in the ``queued`` state.

        Raises:
            ApiError: 400 when the prompt is missing or not a string.
        """
        prompt = body.get("prompt")
        if not isinstance(prompt, str):
            raise ApiError(400, "prompt must be a string", param="prompt", code="invalid_value")
        canonical = json.dumps(body, sort_keys=True, default=str)
        digest = hashlib.sha256(canonical.encode("utf-8")).digest()
        with self._lock:
            seq = self._submissions.get(canonical, 0)
            self._submissions[canonical] = seq + 1
            task_id = "video_" + hashlib.sha256(digest + seq.to_bytes(4, "big")).hexdigest()[:24]
            task = _Task(
                id=task_id,
                model=str(body.get("model") or MODELS["video"]),
                created_at=MODEL_CREATED + int.from_bytes(digest[:4], "big") % _SECONDS_PER_YEAR,
                public_base=public_base.rstrip("/"),
                fails=bool(_FAIL_WORD.search(prompt)),
                video=_video_params(body, digest),
            )
            self._tasks[task_id] = task
        answer = self._view(task, ("queued", 0), faults)
        if faults.on("video.submit-shape"):
            answer["object"] = "video.task"
            del answer["created_at"]
        return answer

    def get(self, task_id: str, faults: FaultSet) -> dict[str, Any]:
        """One poll of a task: advances its lifecycle and answers its current state.

        Raises:
            ApiError: 404 (code ``not_found``) for an unknown task id.
        """
        with self._lock:
            task = self._tasks.get(task_id)
            polls = 0
            if task is not None:
                task.polls += 1
                polls = task.polls
        if task is None:
            if faults.on("video.unknown-task-404"):
                return _phantom(task_id)
            raise ApiError(404, f"video task {task_id!r} not found", param="task_id", code="not_found")
        fails = task.fails or faults.on("video.failed-error")
        states = lifecycle(self._polls, fails=fails, faults=faults)
        answer = self._view(task, states[min(polls, len(states) - 1)], faults)
        if faults.on("video.retrieve-shape"):
            answer["id"] = f"{task.id}-retrieved"
        return answer

    def _view(self, task: _Task, state: _State, faults: FaultSet) -> dict[str, Any]:
        status, progress = state
        answer: dict[str, Any] = {
            "id": task.id,
            "object": "video",
            "model": task.model,
            "status": status,
            "progress": progress,
            "created_at": task.created_at,
        }
        if status == "completed":
            answer["data"] = [] if faults.on("video.completed-data") else [self._result(task)]
        elif status == "failed" and not faults.on("video.failed-error"):
            answer["error"] = {"code": "generation_failed", "message": "the prompt asked the task to fail"}
        return answer

    def _result(self, task: _Task) -> dict[str, Any]:
        asset_id = self._assets.put(mp4_bytes(task.video["duration"]), "video/mp4")
        return {"url": f"{task.public_base}/assets/{asset_id}", "format": "mp4", **task.video}


def _phantom(task_id: str) -> dict[str, Any]:
    """The queued task the ``video.unknown-task-404`` fault invents for an unknown id."""
    return {
        "id": task_id,
        "object": "video",
        "model": MODELS["video"],
        "status": "queued",
        "progress": 0,
        "created_at": MODEL_CREATED,
    }


def lifecycle(polls_to_complete: int, *, fails: bool, faults: FaultSet) -> list[_State]:
    """The (status, progress) of a task after 0, 1, 2, ... polls; the last entry repeats."""
    running = "processing" if faults.on("video.status-enum") else "in_progress"
    needs_running = any(
        faults.on(name) for name in ("video.status-enum", "video.status-monotonic", "video.progress@decreasing")
    )
    steps = max(polls_to_complete, 2) if needs_running else polls_to_complete
    states: list[_State] = [("queued", 0)]
    states += [(running, max(1, 100 * k // steps)) for k in range(1, steps)]
    if faults.on("video.terminal"):
        return states[:1] + [(running, 50)]
    last = states[-1][1]
    if faults.on("video.status-monotonic"):
        states.append(("queued", last))
    terminal: _State = ("failed", last) if fails else ("completed", 100)
    if faults.on("video.progress"):
        terminal = (terminal[0], 150)
    elif faults.on("video.progress@decreasing"):
        terminal = (terminal[0], 0)
    states.append(terminal)
    return states


def _video_params(body: Mapping[str, Any], digest: bytes) -> dict[str, Any]:
    """duration, width, height, fps and seed of the result: from the request, else defaults."""
    width, height = 1280, 720
    size = body.get("size")
    if isinstance(size, str) and re.fullmatch(r"\d{1,5}x\d{1,5}", size):
        width, height = (int(part) for part in size.split("x"))
    duration = body.get("duration")
    return {
        "duration": float(duration) if isinstance(duration, (int, float)) and duration > 0 else 4.0,
        "width": body["width"] if _positive_int(body.get("width")) else width,
        "height": body["height"] if _positive_int(body.get("height")) else height,
        "fps": body["fps"] if _positive_int(body.get("fps")) else 24,
        "seed": body["seed"] if isinstance(body.get("seed"), int) else int.from_bytes(digest[4:8], "big") >> 1,
    }


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def mp4_bytes(duration: float) -> bytes:
    """A minimal ISO BMFF file: an ``ftyp`` box and a ``moov`` holding one ``mvhd``."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    matrix = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
    mvhd = _box(
        b"mvhd",
        struct.pack(">IIIII", 0, 0, 0, 1000, round(duration * 1000))  # version/flags, times, timescale
        + struct.pack(">IH", 0x00010000, 0x0100)  # rate 1.0, volume 1.0
        + bytes(10)
        + matrix
        + bytes(24)
        + struct.pack(">I", 1),  # next track id
    )
    return ftyp + _box(b"moov", mvhd)


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload
