"""Shared helpers of the reference HTTP-layer tests: the test config, stub engines, the
stub server handle and ``assert_envelope`` (fixtures live in conftest.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.reference.api_error import ApiError
from conformance.reference.config import ReferenceConfig
from conformance.reference.engines import BinaryResult, StreamResult
from conformance.reference.faultset import FaultSet
from conformance.reference.operations import EngineResult, Upload

#: A small, fast configuration: a 4 KiB body limit and 3 requests per 0.5 s.
TEST_CONFIG = ReferenceConfig(
    rate_limit_requests=3,
    rate_limit_window_seconds=0.5,
    body_limit_bytes=4096,
    video_polls_to_complete=1,
)
KEY = TEST_CONFIG.api_key
#: Names the stub app accepts in /fault/ URLs besides the HTTP faults.
STUB_ENGINE_FAULTS = (
    "audio.speech.invalid-speed",
    "audio.speech.empty-input",
    "embeddings.empty-input",
    "rerank.empty-input",
)


@dataclass
class StubEngines:
    """Engines that record what they were given and answer canned results."""

    calls: list[tuple[str, Any]] = field(default_factory=list)
    assets: dict[str, tuple[bytes, str]] = field(default_factory=lambda: {"abc": (b"\x89PNG\r\n\x1a\n", "image/png")})

    def _record(self, name: str, payload: Any) -> dict[str, Any]:
        self.calls.append((name, payload))
        if isinstance(payload, dict) and payload.get("trigger") == "api-error":
            raise ApiError(409, "stub conflict", code="stub_conflict")
        if isinstance(payload, dict) and payload.get("trigger") == "bug":
            raise RuntimeError("stub engine bug")
        return {"object": f"stub.{name}", "echo": payload}

    def chat(self, body: dict[str, Any], faults: FaultSet) -> EngineResult:
        if body.get("stream"):
            self.calls.append(("chat", body))
            return StreamResult(iter([b"data: {}\n\n", b"data: [DONE]\n\n"]))
        return self._record("chat", body)

    def responses(self, body: dict[str, Any], faults: FaultSet) -> EngineResult:
        return self._record("responses", body)

    def embeddings(self, body: dict[str, Any], faults: FaultSet) -> EngineResult:
        return self._record("embeddings", body)

    def images(self, body: dict[str, Any], faults: FaultSet, public_base: str) -> EngineResult:
        return self._record("images", {**body, "public_base": public_base})

    def speech(self, body: dict[str, Any], faults: FaultSet) -> EngineResult:
        self.calls.append(("speech", body))
        return BinaryResult(b"ID3\x04stub", "audio/mpeg")

    def transcribe(self, fields: Mapping[str, str], upload: Upload | None, faults: FaultSet, task: str) -> EngineResult:
        if upload is None:
            raise ApiError(400, "a file is required", param="file", code="missing_required_parameter")
        return self._record(task, {"fields": dict(fields), "filename": upload.filename, "size": len(upload.content)})

    def video_submit(self, body: dict[str, Any], faults: FaultSet, public_base: str) -> EngineResult:
        return self._record("video_submit", body)

    def video_get(self, task_id: str, faults: FaultSet) -> EngineResult:
        if task_id != "task-1":
            raise ApiError(404, f"no task {task_id}", code="not_found")
        return self._record("video_get", task_id)

    def moderate(self, body: dict[str, Any], faults: FaultSet) -> EngineResult:
        return self._record("moderate", body)

    def rerank(self, body: dict[str, Any], faults: FaultSet) -> EngineResult:
        return self._record("rerank", body)

    def asset(self, asset_id: str) -> tuple[bytes, str] | None:
        return self.assets.get(asset_id)


@dataclass
class StubServer:
    """A running stub app: its root URL (no /v1), a client and the stub engines."""

    root: str
    client: httpx.Client
    engines: StubEngines

    def request(
        self,
        method: str,
        path: str,
        *,
        key: str | None = KEY,
        faults: str = "",
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """``path`` is relative to the base URL (``/models``); ``faults`` is an a+b fault list."""
        prefix = f"/fault/{faults}/v1" if faults else "/v1"
        sent = dict(headers or {})
        if key is not None and "Authorization" not in sent:
            sent["Authorization"] = f"Bearer {key}"
        return self.client.request(method, prefix + path, headers=sent, **kwargs)


def assert_envelope(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is ``status`` with the JSON error envelope (and ``code`` when given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == "application/json"
    error = response.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str)
    assert set(error) == {"message", "type", "param", "code"}
    if code is not None:
        assert error["code"] == code, error
    return dict(error)
