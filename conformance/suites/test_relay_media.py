"""The relay lane, media operations: images, speech, transcriptions and translations (D110-D112).

Each request carries the run's marker where every gateway must forward it unchanged: the
image prompt, the speech input, and for a multipart upload inside the uploaded WAV itself (a
RIFF ``LIST/INFO`` comment chunk) and in its ``prompt`` field. The upstream's records of that
request then show every JSON parameter, form field and the file's bytes, filename and
content type as received; the client's answer is compared with the upstream's (image data,
speech audio byte for byte, the transcript unchanged). Needs ``[upstream]`` and the
``[models] relay_images|relay_speech|relay_transcription|relay_translation`` models.
"""

# The notes fixture is imported from relay_support; test arguments name it (F811).
# ruff: noqa: F811

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

import pytest

from conformance.checks.relay import check_forwarded
from conformance.checks.relay_media import (
    GENERIC_FILE_TYPE,
    FilePart,
    check_file_forwarded,
    check_form_forwarded,
    check_media_answer,
    media_type,
)
from conformance.relay_notes import rewrites_made
from conformance.suites.relay_support import relay_media_notes  # noqa: F401 - fixture
from conformance.suites.samples import tiny_wav
from conformance.suites.test_relay import (
    _model,  # the one helper that names the relay models
    upstream,  # noqa: F401 - fixture: the run's scripted upstream
)
from conformance.upstream.records import UpstreamRecord

if TYPE_CHECKING:
    from conformance.config import Settings
    from conformance.model import Exchange
    from conformance.recorder import VerdictRecorder
    from conformance.transport import Transport
    from conformance.upstream.server import Upstream

#: Seconds of the uploaded tone (3.2 kB at 16 kHz: cheap, and a real WAV any decoder accepts).
UPLOAD_SECONDS = 0.1
#: task -> (path, the form fields besides model and file; ``{marker}`` is replaced).
TASKS: dict[str, tuple[str, dict[str, str]]] = {
    "transcription": ("/audio/transcriptions", {"language": "en", "prompt": "Spelling: Nexhina. {marker}",
                                                "temperature": "0.2"}),
    "translation": ("/audio/translations", {"prompt": "Spelling: Nexhina. {marker}", "temperature": "0.3"}),
}
#: (task, response_format) cases: a JSON format and a text format of each task.
AUDIO_CASES = [("transcription", "verbose_json"), ("transcription", "srt"),
               ("translation", "json"), ("translation", "text")]


def marked_wav(marker: str, seconds: float = UPLOAD_SECONDS) -> bytes:
    """The suite's tiny WAV with ``marker`` in a RIFF ``LIST/INFO`` ``ICMT`` (comment) chunk.

    A metadata chunk every WAV reader skips: the audio is unchanged, the marker travels in
    the file's own bytes (which every gateway must forward unchanged).
    """
    wav = tiny_wav(seconds)
    text = marker.encode() + b"\x00"
    info = b"ICMT" + struct.pack("<I", len(text)) + text + (b"\x00" if len(text) % 2 else b"")
    chunk = b"LIST" + struct.pack("<I", 4 + len(info)) + b"INFO" + info
    body = wav[8:] + chunk
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _last(upstream: Upstream, marker: object) -> UpstreamRecord | None:
    records = upstream.records.for_marker(str(marker))
    return records[-1] if records else None


def _answer(record: UpstreamRecord | None) -> bytes | None:
    return record.answer if record is not None and record.status == 200 else None


def _media_answer(verdict: VerdictRecorder, ex: Exchange, record: UpstreamRecord | None, requirement: str) -> None:
    verdict.check(check_media_answer(_answer(record), record.content_type if record else "", ex.body,
                                     ex.header("content-type"), requirement=requirement), exchange=ex)


def _relay_json(transport: Transport, upstream: Upstream, verdict: VerdictRecorder, notes: list[str], path: str,
                body: dict[str, Any], marker: object, *, forwarding: str, answer: str) -> None:
    """Send a JSON media request; judge its forwarding (``forwarding``) and the relayed answer
    (``answer``) against the upstream's record of it, and note the allowed rewrites (D104)."""
    ex = transport.request("POST", path, json=body, retry_429=False)
    record = _last(upstream, marker)
    verdict.check(check_forwarded(body, record.json() if record else None, requirement=forwarding), exchange=ex)
    if record is not None:
        operation = forwarding.rsplit(".", 1)[-1]          # relay.forwarding.images -> images
        notes.extend(f"{operation}: {n}" for n in rewrites_made(body, record.json()))
    _media_answer(verdict, ex, record, answer)


@pytest.mark.feature("relay.images")
@pytest.mark.requirements("relay.forwarding.images")
def test_relay_images(transport: Transport, settings: Settings, upstream: Upstream, verdict: VerdictRecorder,
                      relay_media_notes: list[str]) -> None:
    """An image request: prompt, n, size, quality, style, response_format and user forwarded;
    the image data relayed unchanged."""
    marker = upstream.markers("answer")
    body = {"model": _model(settings, "images"), "prompt": f"A small red square. {marker}", "n": 2,
            "size": "256x256", "quality": "standard", "style": "natural", "response_format": "b64_json",
            "user": "nxc-user-7"}
    _relay_json(transport, upstream, verdict, relay_media_notes, "/images/generations", body, marker,
                forwarding="relay.forwarding.images", answer="relay.forwarding.images")


@pytest.mark.feature("relay.speech")
@pytest.mark.requirements("relay.forwarding.speech", "relay.answer.speech")
def test_relay_speech(transport: Transport, settings: Settings, upstream: Upstream, verdict: VerdictRecorder,
                      relay_media_notes: list[str]) -> None:
    """A speech request: input, voice, instructions, response_format and speed forwarded; the
    upstream's audio reaches the client byte for byte with its Content-Type."""
    marker = upstream.markers("answer")
    body = {"model": _model(settings, "speech"), "input": f"Hello there. {marker}", "voice": "nova",
            "instructions": "Speak slowly.", "response_format": "wav", "speed": 1.25}
    _relay_json(transport, upstream, verdict, relay_media_notes, "/audio/speech", body, marker,
                forwarding="relay.forwarding.speech", answer="relay.answer.speech")


def _audio_cases() -> list[Any]:
    return [pytest.param(task, fmt, id=f"{task}-{fmt}",
                         marks=[pytest.mark.feature(f"relay.{task}"),
                                pytest.mark.requirements(f"relay.forwarding.{task}")])
            for task, fmt in AUDIO_CASES]


@pytest.mark.parametrize(("task", "fmt"), _audio_cases())
def test_relay_audio_upload(transport: Transport, settings: Settings, upstream: Upstream, verdict: VerdictRecorder,
                            relay_media_notes: list[str], task: str, fmt: str) -> None:
    """A transcription or translation upload: every form field and the file's bytes, filename
    and content type reach the upstream; the transcript in the asked format reaches the client."""
    requirement = f"relay.forwarding.{task}"
    marker = str(upstream.markers("answer"))
    path, extra = TASKS[task]
    fields = {"model": _model(settings, task), **{k: v.format(marker=marker) for k, v in extra.items()},
              "response_format": fmt}
    sent = FilePart("nxc-clip.wav", "audio/wav", marked_wav(marker))
    parts: dict[str, Any] = {k: (None, v) for k, v in fields.items()}
    parts["file"] = (sent.filename, sent.content, sent.content_type)
    ex = transport.request("POST", path, files=parts, retry_429=False)
    record = _last(upstream, marker)
    form = record.form if record is not None else None
    verdict.check(check_form_forwarded(fields, form.field_map() if form else None, requirement=requirement),
                  exchange=ex)
    if form is not None:
        relay_media_notes.extend(f"{task}: {n}" for n in rewrites_made(fields, form.field_map()))  # D104
    received = form.file if form is not None else None
    got = None if received is None else FilePart(received.filename, received.content_type, received.content)
    verdict.check(check_file_forwarded(sent, got, requirement=requirement), exchange=ex)
    if got is not None and media_type(got.content_type) == GENERIC_FILE_TYPE != sent.content_type:
        relay_media_notes.append(f"{task}: the file's content type sent upstream as {GENERIC_FILE_TYPE}")  # D111
    _media_answer(verdict, ex, record, requirement)
