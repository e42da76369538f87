"""Scenarios for speech, transcriptions and translations (SPEC-DECISIONS §19-20; catalogue audio.*).

Speech: every format's Content-Type and signature, WAV parsed, invalid speed and empty input
refused. Transcriptions and translations: the tiny WAV in every response_format, and a request
without a file refused. The words heard are never graded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pytest

from conformance.checks.audio import (
    check_plain_text,
    check_speech_content_type,
    check_speech_signature,
    check_srt,
    check_text_json,
    check_verbose_json,
    check_vtt,
    check_wav,
)
from conformance.checks.errors import CLIENT_ERROR_IDS, SERVED_IDS, check_client_error, check_served
from conformance.checks.models import check_json_body
from conformance.suites.samples import tiny_wav

if TYPE_CHECKING:
    from conformance.recorder import VerdictRecorder
    from conformance.transport import Transport

SPEECH_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")
SPEECH_INPUT = "Hello."

#: One second of tone: above every service's minimum length (OpenAI refuses < 0.1 s), ~32 kB.
UPLOAD_SECONDS = 1.0

#: task -> (path, capability, feature)
TASKS: Mapping[str, tuple[str, str, str]] = {
    "transcription": ("/audio/transcriptions", "transcription", "audio.transcription"),
    "translation": ("/audio/translations", "translation", "audio.translation"),
}
TEXT_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")


def _speech(models: Mapping[str, str], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": models["speech"], "input": SPEECH_INPUT, "voice": "alloy"}
    body.update(extra)
    return body


@pytest.mark.feature("audio.speech")
@pytest.mark.requirements("audio.speech.content-type", "audio.speech.signature", *SERVED_IDS)
@pytest.mark.parametrize(
    "fmt",
    # Only the WAV answer is parsed: only its case may speak for audio.speech.wav-parses.
    [pytest.param(f, marks=pytest.mark.requirements("audio.speech.wav-parses") if f == "wav" else ())
     for f in SPEECH_FORMATS],
)
def test_speech_format(transport: Transport, models: Mapping[str, str], verdict: VerdictRecorder,
                       fmt: str) -> None:
    """Each response_format comes with its Content-Type and its signature; WAV parses."""
    ex = transport.request("POST", "/audio/speech", json=_speech(models, response_format=fmt))
    if not verdict.check(check_served(ex, requirement="audio.speech.signature"), exchange=ex):
        return
    verdict.check(check_speech_content_type(ex, fmt), exchange=ex)
    verdict.check(check_speech_signature(ex.body, fmt), exchange=ex)
    if fmt == "wav":
        verdict.check(check_wav(ex.body), exchange=ex)


def _refusal(change: dict[str, Any], requirement: str, case: str) -> object:
    """One refused request; the case declares only the requirement it judges."""
    return pytest.param(change, requirement, id=case, marks=pytest.mark.requirements(requirement))


SPEECH_REFUSALS = [
    _refusal({"speed": 5.0}, "audio.speech.invalid-speed", "speed-above-4"),
    _refusal({"speed": 0.1}, "audio.speech.invalid-speed", "speed-below-0.25"),
    _refusal({"input": ""}, "audio.speech.empty-input", "empty-input"),
]


@pytest.mark.feature("audio.speech")
@pytest.mark.requirements(*CLIENT_ERROR_IDS)
@pytest.mark.parametrize(("change", "requirement"), SPEECH_REFUSALS)
def test_speech_refused(transport: Transport, models: Mapping[str, str], verdict: VerdictRecorder,
                        change: dict[str, Any], requirement: str) -> None:
    """A speed outside 0.25..4.0 or an empty input gets 400 with the envelope."""
    ex = transport.request("POST", "/audio/speech", json=_speech(models, **change))
    verdict.check(check_client_error(ex, (400,), requirement=requirement), exchange=ex)


def _upload(transport: Transport, models: Mapping[str, str], task: str, fields: Mapping[str, str],
            *, with_file: bool = True) -> Any:
    """POST the multipart form of ``task`` (the tiny WAV as ``file`` unless ``with_file`` is false)."""
    path, capability, _ = TASKS[task]
    parts: dict[str, Any] = {"model": (None, models[capability]), **{k: (None, v) for k, v in fields.items()}}
    if with_file:
        parts["file"] = ("conformance.wav", tiny_wav(UPLOAD_SECONDS), "audio/wav")
    # Text fields go as file-less parts, so the body is multipart/form-data even without a file.
    return transport.request("POST", path, files=parts)


def _format_cases() -> list[Any]:
    cases = []
    for task, (_, _, feature) in TASKS.items():
        for fmt in TEXT_FORMATS:
            rid = f"audio.{task}.{fmt.replace('_', '-')}"
            cases.append(pytest.param(task, fmt, rid, id=f"{task}-{fmt}",
                                      marks=[pytest.mark.feature(feature), pytest.mark.requirements(rid)]))
    return cases


@pytest.mark.requirements(*SERVED_IDS)
@pytest.mark.parametrize(("task", "fmt", "requirement"), _format_cases())
def test_audio_text_format(transport: Transport, models: Mapping[str, str], verdict: VerdictRecorder,
                           task: str, fmt: str, requirement: str) -> None:
    """Each response_format gives its shape: {text}, text/plain, SubRip, WebVTT, verbose JSON."""
    ex = _upload(transport, models, task, {"response_format": fmt})
    if not verdict.check(check_served(ex, requirement=requirement), exchange=ex):
        return
    if fmt == "text":
        verdict.check(check_plain_text(ex, task), exchange=ex)
        return
    if fmt in ("srt", "vtt"):
        text = ex.body.decode("utf-8", errors="replace")
        verdict.check(check_srt(text, task) if fmt == "srt" else check_vtt(text, task), exchange=ex)
        return
    if not verdict.check(check_json_body(ex, requirement=requirement), exchange=ex):
        return
    body = ex.json()
    verdict.check(check_text_json(body, task) if fmt == "json" else check_verbose_json(body, task), exchange=ex)


def _missing_file_cases() -> list[Any]:
    return [
        pytest.param(task, id=task, marks=[pytest.mark.feature(feature),
                                           pytest.mark.requirements(f"audio.{task}.missing-file")])
        for task, (_, _, feature) in TASKS.items()
    ]


@pytest.mark.requirements(*CLIENT_ERROR_IDS)
@pytest.mark.parametrize("task", _missing_file_cases())
def test_audio_missing_file(transport: Transport, models: Mapping[str, str], verdict: VerdictRecorder,
                            task: str) -> None:
    """A multipart request without a file gets 400 with the envelope."""
    ex = _upload(transport, models, task, {}, with_file=False)
    verdict.check(check_client_error(ex, (400,), requirement=f"audio.{task}.missing-file"), exchange=ex)
