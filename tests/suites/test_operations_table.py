"""Unit tests of conformance.suites.operations and conformance.suites.samples (no network)."""

from __future__ import annotations

import io
import wave
from typing import Any

import pytest

from conformance.config import Budgets, Settings
from conformance.errors import ConfigError
from conformance.model import Exchange
from conformance.requirements import load_catalogue
from conformance.spec import load_spec
from conformance.suites.operations import (
    OPERATIONS,
    PLACEHOLDER_TASK_ID,
    RequestSpec,
    minimal_request,
    operation,
    operations_with,
)
from conformance.suites.samples import tiny_wav
from tests.suites.sample_target import MODELS, SETTINGS


def test_tiny_wav_is_a_valid_short_16_bit_mono_wav() -> None:
    data = tiny_wav()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16_000)
        assert wav.getnframes() == 1600
        assert any(wav.readframes(1600))  # a tone, not silence
    assert len(data) < 4096
    assert tiny_wav(0.5, sample_rate=8000) != data
    with pytest.raises(ValueError):
        tiny_wav(0)


def test_operations_match_the_spec() -> None:
    spec_ops = {
        (method.upper(), path, op["operationId"])
        for path, item in load_spec()["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }
    assert {(op.method, op.path, op.operation_id) for op in OPERATIONS} == spec_ops
    assert len(OPERATIONS) == 13


def test_operation_features_are_catalogue_features() -> None:
    features = load_catalogue().features()
    assert {op.feature for op in OPERATIONS} <= features


def test_operation_lookup_and_filters() -> None:
    assert operation("createRerank").path == "/rerank"
    with pytest.raises(KeyError):
        operation("deleteEverything")
    assert {op.operation_id for op in operations_with(body="multipart")} == {
        "createTranscription",
        "createTranslation",
    }
    assert len(operations_with(takes_model=True)) == 10
    assert not any(op.takes_model for op in operations_with(body="none"))


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.operation_id)
def test_minimal_request_is_small_and_concrete(op: Any) -> None:
    spec = minimal_request(op, MODELS, SETTINGS)
    assert spec.method == op.method
    assert "{" not in spec.path
    if op.body == "json":
        assert spec.json is not None and spec.json["model"] == MODELS[op.capability]
        assert spec.json.get("max_tokens", 1) == 1
    if op.body == "multipart":
        assert spec.fields == {"model": MODELS[op.capability]}
        assert spec.files is not None and spec.files["file"][1] == tiny_wav()


def test_minimal_request_paths() -> None:
    assert minimal_request(operation("retrieveModel"), MODELS, SETTINGS).path == "/models/m-chat"
    assert (
        minimal_request(operation("retrieveModel"), {"rerank": "org/m 1"}, SETTINGS).path
        == "/models/org/m%201"
    )
    video = operation("retrieveVideo")
    assert minimal_request(video, MODELS, SETTINGS).path == f"/video/generations/{PLACEHOLDER_TASK_ID}"
    assert minimal_request(video, MODELS, SETTINGS, task_id="t/1").path == "/video/generations/t%2F1"


def test_responses_request_respects_openai_minimum_of_16_output_tokens() -> None:
    spec = minimal_request(operation("createResponse"), MODELS, Settings(budgets=Budgets(max_tokens=4)))
    assert spec.json is not None and spec.json["max_output_tokens"] == 16


def test_missing_model_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match=r"\[models\] rerank"):
        minimal_request(operation("createRerank"), {"chat": "x"}, SETTINGS)
    with pytest.raises(ConfigError):
        minimal_request(operation("retrieveModel"), {}, SETTINGS)


def test_derived_specs_never_change_the_original() -> None:
    base = minimal_request(operation("createChatCompletion"), MODELS, SETTINGS)
    changed = base.with_body({"temperature": 5})
    changed.json["messages"][0]["content"] = "mutated"  # type: ignore[index]
    dropped = base.without("messages")
    assert base.json is not None and "temperature" not in base.json
    assert base.json["messages"][0]["content"] == "Say OK."
    assert dropped.json is not None and "messages" not in dropped.json
    form = minimal_request(operation("createTranscription"), MODELS, SETTINGS)
    assert form.with_body({"temperature": 0.5}).fields == {"model": "m-stt", "temperature": "0.5"}
    assert form.without("file").files == {}
    assert form.files is not None and "file" in form.files
    with pytest.raises(ValueError):
        RequestSpec("GET", "/models").with_body({"x": 1})
    assert base.with_method("PUT").method == "PUT"


class FakeTransport:
    """Records the keyword arguments of request()."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def request(self, method: str, path: str, **kwargs: Any) -> Exchange:
        self.calls.append((method, path, kwargs))
        return Exchange(method, path, {}, None, 200)


def test_send_passes_only_what_was_given() -> None:
    fake = FakeTransport()
    chat = minimal_request(operation("createChatCompletion"), MODELS, SETTINGS)
    chat.send(fake)  # type: ignore[arg-type]
    chat.send(fake, key=None, headers={"Authorization": "Basic x"}, retry_429=False)  # type: ignore[arg-type]
    form = minimal_request(operation("createTranslation"), MODELS, SETTINGS)
    form.send(fake, key="sk-other")  # type: ignore[arg-type]
    (_, _, first), (_, _, second), (_, _, third) = fake.calls
    assert first == {"retry_429": True, "json": chat.json}
    assert second == {
        "retry_429": False,
        "key": None,
        "headers": {"Authorization": "Basic x"},
        "json": chat.json,
    }
    assert set(third) == {"retry_429", "key", "data", "files"} and third["key"] == "sk-other"
