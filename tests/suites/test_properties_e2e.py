"""The property suite's helpers on hand-built cases, and one end-to-end run against the reference.

The helpers (``conformance.suites.properties_*``) are tested without a network. The end-to-end
run starts the reference in this process and runs the whole property phase in a child pytest
against a fault base URL whose fault breaks GET /models and GET /models/{model} only: those two
must fail with the right requirement and a masked curl line, the other eleven operations (served
soundly) must pass, which is the false-positive proof at default settings.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis

from conformance.checks.properties import POSITIVE
from conformance.config import Settings, resolve
from conformance.model import Exchange
from conformance.reference.config import ReferenceConfig
from conformance.reference.server import running_reference, target_file_text
from conformance.suites.operations import operation
from conformance.suites.properties_cases import cap_positive, case_kind, outgoing
from conformance.suites.properties_schema import (
    exchange_from_response,
    failure_facts,
    load_schema,
    nexhina_error_envelope,
    operation_seed,
    response_from_exchange,
)
from conformance.suites.samples import tiny_wav

BASE = "http://127.0.0.1:9/v1"
MODELS = {"chat": "ref-chat", "responses": "ref-chat", "speech": "ref-tts", "transcription": "ref-whisper",
          "images": "ref-image", "video": "ref-video"}
RUN_INI = Path(__file__).resolve().parents[2] / "conformance" / "data" / "run.ini"


@pytest.fixture(scope="module")
def schema() -> Any:
    return load_schema()


def settings(features: tuple[str, ...] = ("chat", "chat.streaming"), max_tokens: int = 8) -> Settings:
    file_layer = {"target": {"features": list(features)}, "models": {"chat": "ref-chat"}}
    return resolve({"budgets.max_tokens": max_tokens}, {}, file_layer)


def case_of(schema: Any, path: str, method: str, body: Any, media_type: str = "application/json",
            headers: dict[str, str] | None = None) -> schemathesis.Case:
    return schema[path][method].Case(body=body, media_type=media_type, headers=headers or {})


# --------------------------------------------------------------------------- outgoing requests


def test_outgoing_json_keeps_only_content_type_among_generated_headers(schema: Any) -> None:
    case = case_of(schema, "/chat/completions", "POST", {"model": "m", "messages": [], "stream": True},
                   headers={"Authorization": "Bearer generated", "X-Junk": "1", "Content-Type": "text/plain"})
    out = outgoing(case, BASE)
    assert (out.method, out.path, out.has_json, out.stream) == ("POST", "/chat/completions", True, True)
    assert out.headers == {"Content-Type": "text/plain"}
    assert out.json_body == {"model": "m", "messages": [], "stream": True}


def test_outgoing_multipart_is_encoded_as_multipart(schema: Any) -> None:
    body = {"file": b"RIFF", "model": "m", "temperature": 0.5}
    out = outgoing(case_of(schema, "/audio/transcriptions", "POST", body, "multipart/form-data"), BASE)
    assert out.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert out.content is not None and b'name="file"; filename=' in out.content and b"RIFF" in out.content
    assert b'name="temperature"\r\n\r\n0.5' in out.content
    assert not out.has_json and not out.body_absent


def test_outgoing_multipart_without_a_file_stays_multipart(schema: Any) -> None:
    case = case_of(schema, "/audio/transcriptions", "POST", {"model": "m"}, "multipart/form-data")
    out = outgoing(case, BASE)
    assert out.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert out.content is not None and b'name="model"' in out.content


def test_outgoing_path_parameters_are_in_the_path(schema: Any) -> None:
    case = schema["/models/{model}"]["GET"].Case(path_parameters={"model": "ref-chat"})
    out = outgoing(case, BASE)
    assert (out.method, out.path, out.body_absent) == ("GET", "/models/ref-chat", True)


# --------------------------------------------------------------------------- cost control


def test_hand_built_case_is_positive(schema: Any) -> None:
    assert case_kind(case_of(schema, "/embeddings", "POST", {"model": "m", "input": "x"})) == POSITIVE


def test_cap_chat_pins_the_model_and_caps_tokens_and_choices(schema: Any) -> None:
    case = case_of(schema, "/chat/completions", "POST",
                   {"model": "random", "messages": [], "max_completion_tokens": 4096, "n": 9})
    cap_positive(case, operation("createChatCompletion"), MODELS, settings())
    assert case.body == {"model": "ref-chat", "messages": [], "max_completion_tokens": 8, "n": 2}


def test_cap_chat_adds_max_tokens_and_drops_streaming_the_target_lacks(schema: Any) -> None:
    case = case_of(schema, "/chat/completions", "POST",
                   {"model": "x", "messages": [], "stream": True, "stream_options": {"include_usage": True}})
    cap_positive(case, operation("createChatCompletion"), MODELS, settings(features=("chat",)))
    assert case.body == {"model": "ref-chat", "messages": [], "stream": False, "max_tokens": 8}


def test_cap_responses_keeps_the_openai_minimum(schema: Any) -> None:
    case = case_of(schema, "/responses", "POST", {"model": "x", "input": "hi", "max_output_tokens": 5000})
    cap_positive(case, operation("createResponse"), MODELS, settings(max_tokens=4))
    assert case.body["max_output_tokens"] == 16


@pytest.mark.parametrize(
    ("path", "op_id", "body", "expected"),
    [
        ("/images/generations", "createImage", {"prompt": "p", "n": 10},
         {"prompt": "p", "n": 1, "model": "ref-image"}),
        ("/video/generations", "createVideo", {"model": "x", "prompt": "p", "duration": 600.5, "n": 4},
         {"model": "ref-video", "prompt": "p", "duration": 1, "n": 1}),
        ("/audio/speech", "createSpeech", {"model": "x", "input": "y" * 500, "voice": "v"},
         {"model": "ref-tts", "input": "y" * 64, "voice": "v"}),
    ],
)
def test_cap_counts_and_inputs(schema: Any, path: str, op_id: str, body: dict[str, Any],
                               expected: dict[str, Any]) -> None:
    case = case_of(schema, path, "POST", body)
    cap_positive(case, operation(op_id), MODELS, settings())
    assert case.body == expected


def test_cap_upload_sends_a_real_tiny_wav(schema: Any) -> None:
    body = {"file": "RIFF....", "model": "x"}
    case = case_of(schema, "/audio/transcriptions", "POST", body, "multipart/form-data")
    cap_positive(case, operation("createTranscription"), MODELS, settings())
    assert case.body == {"file": tiny_wav(), "model": "ref-whisper"}


# --------------------------------------------------------------------------- adapters and our check


def exchange(status: int, body: bytes, content_type: str = "application/json") -> Exchange:
    return Exchange(method="POST", url=BASE + "/embeddings",
                    request_headers={"Authorization": "Bearer ********"},
                    request_body=b'{"model":"m","input":"x"}', status=status,
                    response_headers={"Content-Type": content_type}, body=body)


def test_adapters_round_trip() -> None:
    original = exchange(400, b'{"error": "x"}')
    back = exchange_from_response(response_from_exchange(original))
    assert (back.method, back.url, back.status, back.body) == ("POST", original.url, 400, original.body)
    assert back.request_body == original.request_body
    assert back.content_type == "application/json"
    assert back.request_headers["Authorization"] == "Bearer ********"


def test_registered_envelope_check_reports_catalogue_violations(schema: Any) -> None:
    case = case_of(schema, "/embeddings", "POST", {"model": "m", "input": "x"})
    bad = exchange(400, b'{"error": "a string, not an object"}')
    with pytest.raises(Exception) as info:
        nexhina_error_envelope(None, response_from_exchange(bad), case)  # type: ignore[arg-type]
    found = failure_facts(info.value, bad).violations  # type: ignore[arg-type]
    assert {v.requirement for v in found} == {"errors.envelope-shape"}
    assert nexhina_error_envelope(None, response_from_exchange(exchange(200, b"{}")), case) is None  # type: ignore[arg-type]


def test_operation_seed_is_stable_and_seed_dependent() -> None:
    assert operation_seed(7, "GET /models") == 1455008620  # pinned: the same in every process
    assert operation_seed(7, "GET /models") != operation_seed(8, "GET /models")
    assert operation_seed(7, "GET /models") != operation_seed(7, "POST /rerank")


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def reference() -> Iterator[tuple[str, ReferenceConfig]]:
    config = ReferenceConfig()
    with running_reference(config) as base_url:
        yield base_url, config


def _user_properties(junit: Path) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        for prop in case.iter("property"):
            if prop.get("name") == "nexhina-properties":
                found[str(case.get("name"))] = json.loads(str(prop.get("value")).replace("'", '"'))
    return found


def test_property_phase_end_to_end(reference: tuple[str, ReferenceConfig], tmp_path: Path) -> None:
    base_url, config = reference
    target = tmp_path / "target.toml"
    target.write_text(target_file_text(base_url, config), encoding="utf-8")
    faulty = base_url.removesuffix("/v1") + "/fault/models.list.shape/v1"
    junit = tmp_path / "junit.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(RUN_INI), "--rootdir", str(tmp_path),
         "-p", "no:cacheprovider", "--pyargs", "conformance.suites", "-k", "test_properties", "-q",
         f"--nexhina-target={target}", f"--nexhina-base-url={faulty}",
         f"--nexhina-report-dir={tmp_path / 'report'}", f"--junitxml={junit}"],
        capture_output=True, text=True, timeout=180, cwd=tmp_path,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "1 failed, 12 passed" in out, out
    assert "FAILED" in out and "test_properties[GET /models]" in out
    assert "FAIL models.list.shape [MUST]" in out
    assert "authorization: Bearer ********" in out and config.api_key not in out
    report = json.loads((tmp_path / "report" / "conformance-report.json").read_text(encoding="utf-8"))
    assert "models.list.shape" in json.dumps(report)
    stats = _user_properties(junit)
    assert len(stats) == 13
    kinds = {kind for row in stats.values() for kind in row["by_kind"]}
    assert kinds == {"positive", "negative", "missing-auth", "wrong-method", "content-type", "invalid-key"}
    assert sum(row["sent"] for row in stats.values()) < 400
