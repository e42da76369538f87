"""Unit tests of the scripted upstream's media answers and the relay's RIFF re-encoding fault (no network)."""

from __future__ import annotations

import asyncio
import io
import json
import wave

from starlette.datastructures import Headers

from conformance.reference.relay_media import strip_riff_lists
from conformance.suites.samples import tiny_wav
from conformance.suites.test_relay_media import marked_wav
from conformance.upstream.markers import find_marker
from conformance.upstream.media import SPEECH_TYPES, media_answer, read_form, tiny_png, transcript

MARKER = "nxc-0badcafe-answer.7"


def test_images_answer_b64_json_pngs_or_urls_one_per_n() -> None:
    status, body, kind = media_answer("images", {"n": 3}, MARKER)
    data = json.loads(body)["data"]
    assert (status, kind, len(data)) == (200, "application/json", 3) and all("b64_json" in d for d in data)
    assert tiny_png("a").startswith(b"\x89PNG\r\n\x1a\n") and tiny_png("a") != tiny_png("b")
    assert "url" in json.loads(media_answer("images", {"response_format": "url"}, MARKER)[1])["data"][0]


def test_speech_answers_the_asked_format_and_a_real_wav() -> None:
    _, mp3, kind = media_answer("speech", {}, MARKER)
    assert kind == SPEECH_TYPES["mp3"] and mp3.startswith(b"ID3")
    _, audio, kind = media_answer("speech", {"response_format": "wav"}, MARKER)
    assert kind == "audio/wav"
    with wave.open(io.BytesIO(audio)) as parsed:
        assert parsed.getnframes() > 0
    assert media_answer("speech", {"response_format": "wav"}, "nxc-0badcafe-answer.8")[1] != audio


def test_transcripts_come_in_the_asked_format() -> None:
    text = transcript("translation", MARKER)
    assert json.loads(media_answer("translation", {}, MARKER)[1]) == {"text": text}
    assert media_answer("translation", {"response_format": "text"}, MARKER)[1] == (text + "\n").encode()
    assert media_answer("transcription", {"response_format": "vtt"}, MARKER)[1].startswith(b"WEBVTT")
    verbose = json.loads(media_answer("transcription", {"response_format": "verbose_json", "language": "en"},
                                      MARKER)[1])
    assert verbose["task"] == "transcribe" and verbose["language"] == "en"


def test_read_form_is_none_for_a_json_body() -> None:
    headers = Headers({"content-type": "application/json"})
    assert asyncio.run(read_form(headers, b"{}")) is None


def test_the_marked_wav_carries_the_marker_and_stays_a_wav() -> None:
    wav = marked_wav(MARKER)
    assert str(find_marker(wav)) == MARKER
    with wave.open(io.BytesIO(wav)) as parsed, wave.open(io.BytesIO(tiny_wav(0.1))) as plain:
        assert parsed.getnframes() == plain.getnframes()


def test_stripping_the_list_chunks_loses_the_marker_only() -> None:
    stripped = strip_riff_lists(marked_wav(MARKER))
    assert find_marker(stripped) is None and stripped == tiny_wav(0.1)
    assert strip_riff_lists(b"not a riff file") == b"not a riff file"
