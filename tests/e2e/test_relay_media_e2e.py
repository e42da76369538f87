"""End to end: the reference relays images, speech and multipart uploads to the scripted upstream
over real sockets; the upstream records every form field and the file's bytes, and a faulted
relay's re-encoding shows as a file whose sha256 differs."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

import httpx
import pytest

from conformance.reference.config import ReferenceConfig
from conformance.reference.server import running_reference
from conformance.suites.test_relay_media import marked_wav
from conformance.upstream.app import UpstreamConfig
from conformance.upstream.markers import new_run_id
from conformance.upstream.media import transcript
from conformance.upstream.server import Upstream, running_upstream

CHANNEL = "sk-e2e-media-channel"
AUTH = {"Authorization": "Bearer sk-nexhina-reference"}


@pytest.fixture(scope="module")
def relay() -> Iterator[tuple[Upstream, str]]:
    """The scripted upstream and the base URL of a reference relaying to it."""
    with running_upstream("127.0.0.1:0", UpstreamConfig(CHANNEL, new_run_id())) as upstream:
        reference = ReferenceConfig(upstream_url=upstream.url, channel_key=CHANNEL, relay_timeout=2.0)
        with running_reference(reference) as base:
            yield upstream, base


def test_images_and_speech_are_relayed(relay: tuple[Upstream, str]) -> None:
    upstream, base = relay
    marker = str(upstream.markers("answer"))
    body = {"model": "relay-images", "prompt": f"A square. {marker}", "n": 2, "response_format": "b64_json"}
    answer = httpx.post(f"{base}/images/generations", json=body, headers=AUTH, timeout=5)
    (record,) = upstream.records.for_marker(marker)
    assert record.json() == {**body, "model": "up-images"}
    assert answer.json() == record.answer_json()
    assert base64.b64decode(answer.json()["data"][1]["b64_json"]).startswith(b"\x89PNG")
    marker = str(upstream.markers("answer"))
    speech = {"model": "relay-speech", "input": f"Hi. {marker}", "voice": "nova", "response_format": "wav"}
    audio = httpx.post(f"{base}/audio/speech", json=speech, headers=AUTH, timeout=5)
    (record,) = upstream.records.for_marker(marker)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert audio.content == record.answer and audio.content[8:12] == b"WAVE"


def _upload(base: str, path: str, marker: str, wav: bytes, fmt: str) -> httpx.Response:
    parts = {"model": (None, "relay-whisper"), "prompt": (None, f"Spelling. {marker}"),
             "language": (None, "en"), "response_format": (None, fmt), "file": ("clip.wav", wav, "audio/wav")}
    return httpx.post(f"{base}{path}", files=parts, headers=AUTH, timeout=5)


def test_a_multipart_upload_reaches_the_upstream_byte_for_byte(relay: tuple[Upstream, str]) -> None:
    upstream, base = relay
    marker = str(upstream.markers("answer"))
    wav = marked_wav(marker)
    answer = _upload(base, "/audio/transcriptions", marker, wav, "srt")
    (record,) = upstream.records.for_marker(marker)
    assert record.form is not None and record.form.file is not None
    assert record.form.field_map() == {"model": "up-whisper", "prompt": f"Spelling. {marker}", "language": "en",
                                       "response_format": "srt"}
    assert (record.form.file.filename, record.form.file.content_type) == ("clip.wav", "audio/wav")
    assert hashlib.sha256(record.form.file.content).digest() == hashlib.sha256(wav).digest()
    assert answer.content == record.answer and transcript("transcription", marker) in answer.text


def test_a_faulted_relay_re_encodes_the_file_and_the_prompt_still_finds_the_record(
        relay: tuple[Upstream, str]) -> None:
    upstream, base = relay
    marker = str(upstream.markers("answer"))
    wav = marked_wav(marker)
    answer = _upload(base.replace("/v1", "/fault/relay.forwarding.transcription/v1"), "/audio/transcriptions",
                     marker, wav, "json")
    (record,) = upstream.records.for_marker(marker)
    assert answer.status_code == 200 and record.form is not None and record.form.file is not None
    received = record.form.file.content
    assert received != wav and marker.encode() not in received and received[8:12] == b"WAVE"
    assert answer.json() == {"text": transcript("transcription", marker)}


def test_an_upstream_error_on_an_upload_is_mapped(relay: tuple[Upstream, str]) -> None:
    upstream, base = relay
    marker = str(upstream.markers("error-400"))
    refused = _upload(base, "/audio/translations", marker, marked_wav(marker), "json")
    assert refused.status_code == 400 and marker in refused.json()["error"]["message"]
