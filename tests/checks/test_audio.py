"""Unit tests of conformance.checks.audio: speech signatures, WAV, SubRip, WebVTT, JSON shapes."""

from __future__ import annotations

import io
import struct
import wave
from typing import Any

import pytest

from conformance.checks import audio as a
from conformance.model import Exchange, Violation

SIGNED = {
    "mp3": b"ID3\x04\x00" + b"\x00" * 8,
    "opus": b"OggS\x00\x02" + b"\x00" * 8,
    "aac": b"\xff\xf1\x50\x80" + b"\x00" * 8,
    "flac": b"fLaC\x00\x00\x00\x22" + b"\x00" * 8,
    "pcm": b"\x01\x00" * 8,
}


def pairs(violations: list[Violation]) -> list[tuple[str, str | None]]:
    return [(v.requirement, v.where) for v in violations]


def wav_bytes(frames: int = 800, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x01" * frames)
    return buffer.getvalue()


def float_wav(samples: int = 400, rate: int = 8000) -> bytes:
    """An IEEE-float WAV (format 3), which the wave module of Python 3.11 refuses."""
    data = struct.pack(f"<{samples}f", *([0.1] * samples))
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def exchange(content_type: str | None, body: bytes = b"x") -> Exchange:
    headers = {"content-type": content_type} if content_type else {}
    return Exchange("POST", "http://x/v1/audio/speech", {}, None, 200, headers, body)


@pytest.mark.parametrize(("fmt", "content_type"), [
    ("mp3", "audio/mpeg"), ("wav", "audio/wav"), ("wav", "audio/x-wav"), ("opus", "audio/ogg"),
    ("opus", "audio/opus"), ("aac", "audio/aac"), ("flac", "audio/flac"), ("pcm", "audio/pcm"),
    ("pcm", "application/octet-stream"), ("mp3", "audio/mpeg; charset=binary"),
])
def test_speech_content_type_accepted(fmt: str, content_type: str) -> None:
    assert a.check_speech_content_type(exchange(content_type), fmt) == []


@pytest.mark.parametrize(("fmt", "content_type"), [("wav", "audio/mpeg"), ("mp3", None), ("flac", "audio/ogg")])
def test_speech_content_type_refused(fmt: str, content_type: str | None) -> None:
    assert pairs(a.check_speech_content_type(exchange(content_type), fmt)) == [
        ("audio.speech.content-type", "Content-Type")]


@pytest.mark.parametrize("fmt", sorted(SIGNED))
def test_speech_signature(fmt: str) -> None:
    assert a.check_speech_signature(SIGNED[fmt], fmt) == []
    other = SIGNED["opus"] if fmt != "opus" else SIGNED["flac"]
    if fmt != "pcm":
        assert pairs(a.check_speech_signature(other, fmt)) == [("audio.speech.signature", "body")]


def test_speech_signature_mp3_frame_sync_and_wav() -> None:
    assert a.check_speech_signature(b"\xff\xfb\x90\x64", "mp3") == []
    assert a.check_speech_signature(wav_bytes(), "wav") == []
    assert pairs(a.check_speech_signature(b"\x01\x00\x02", "pcm")) == [("audio.speech.signature", "body")]
    with pytest.raises(ValueError):
        a.has_signature(b"", "ogg")


def test_wav() -> None:
    assert a.wav_duration(wav_bytes(800, 8000)) == pytest.approx(0.1)
    assert a.wav_duration(float_wav(400, 8000)) == pytest.approx(0.05)
    assert a.check_wav(wav_bytes()) == []
    assert a.check_wav(float_wav()) == []
    assert pairs(a.check_wav(wav_bytes(0))) == [("audio.speech.wav-parses", "body")]
    assert pairs(a.check_wav(b"ID3\x04garbage")) == [("audio.speech.wav-parses", "body")]
    assert pairs(a.check_wav(wav_bytes()[:30])) == [("audio.speech.wav-parses", "body")]


def test_wav_with_placeholder_size_counts_real_frames() -> None:
    data = bytearray(wav_bytes(800, 8000))
    data[40:44] = struct.pack("<I", 0xFFFFFFFF)  # a streamed WAV's unknown data size
    assert a.wav_duration(bytes(data)) == pytest.approx(0.1)


SRT_OK = "1\n00:00:00,000 --> 00:00:01,500\nHello there.\n\n2\n00:00:01,500 --> 00:00:03,000\nGeneral.\n"
VTT_OK = (
    "WEBVTT\n\n00:00.000 --> 00:01.500\nHello there.\n\nNOTE a comment\n\n"
    "c2\n00:00:01.500 --> 00:00:03.000 align:start\nGeneral.\n"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SRT_OK, []),
        (SRT_OK.replace("\n", "\r\n"), []),
        ("\ufeff" + SRT_OK, []),
        ("", []),
        (SRT_OK.replace("00:00:01,500 --> 00:00:03,000", "00:00:01.500 --> 00:00:03.000"), ["cue[1]"]),
        (SRT_OK.replace("2\n", "x\n"), ["cue[1]"]),
        (SRT_OK.replace("2\n", "1\n"), ["cue[1]"]),
        (SRT_OK.replace("00:00:01,500 --> 00:00:03,000", "00:00:00,500 --> 00:00:03,000"), []),
        (SRT_OK.replace("00:00:01,500 --> 00:00:03,000", "00:00:00,000 --> 00:00:03,000").replace(
            "00:00:00,000 --> 00:00:01,500", "00:00:02,000 --> 00:00:02,500"), ["cue[1]"]),
        (SRT_OK.replace("00:00:00,000 --> 00:00:01,500", "00:00:01,000 --> 00:00:00,500"), ["cue[0]"]),
    ],
    ids=["ok", "crlf", "bom", "empty", "dot-millis", "number", "repeated-number", "overlap", "backwards", "inverted"],
)
def test_srt(text: str, expected: list[str]) -> None:
    found = a.check_srt(text, "transcription")
    assert [v.where for v in found] == expected
    assert all(v.requirement == "audio.transcription.srt" for v in found)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (VTT_OK, []),
        ("WEBVTT - a title\nKind: captions\n\n00:00.000 --> 00:01.000\nHi.\n", []),
        ("WEBVTT\n", []),
        (VTT_OK.replace("WEBVTT", "WEBVTT2"), ["line[0]"]),
        (VTT_OK.replace("WEBVTT\n\n", ""), ["line[0]"]),
        (VTT_OK.replace("00:00.000 --> 00:01.500", "00:00,000 --> 00:01,500"), ["cue[1]"]),
        (VTT_OK.replace("00:00:01.500 --> 00:00:03.000", "00:00:00.000 --> 00:00:03.000").replace(
            "00:00.000 --> 00:01.500", "00:02.000 --> 00:02.500"), ["cue[3]"]),
    ],
    ids=["ok", "header-text", "no-cues", "bad-header", "no-header", "comma-millis", "backwards"],
)
def test_vtt(text: str, expected: list[str]) -> None:
    found = a.check_vtt(text, "translation")
    assert [v.where for v in found] == expected
    assert all(v.requirement == "audio.translation.vtt" for v in found)


def test_plain_text() -> None:
    ok = Exchange("POST", "http://x", {}, None, 200, {"Content-Type": "text/plain; charset=utf-8"}, b"Hello.")
    assert a.check_plain_text(ok, "transcription") == []
    as_json = Exchange("POST", "http://x", {}, None, 200, {"Content-Type": "application/json"}, b'"Hello."')
    assert pairs(a.check_plain_text(as_json, "translation")) == [("audio.translation.text", "Content-Type")]
    binary = Exchange("POST", "http://x", {}, None, 200, {"Content-Type": "text/plain"}, b"\xff\xfe\xfa")
    assert pairs(a.check_plain_text(binary, "transcription")) == [("audio.transcription.text", "body")]


VERBOSE: dict[str, Any] = {"task": "transcribe", "language": "english", "duration": 1.0, "text": "Hi.",
                           "segments": [{"id": 0, "start": 0.0, "end": 1.0, "text": "Hi."}]}


def test_json_shapes() -> None:
    assert a.check_text_json({"text": "Hi."}, "transcription") == []
    assert pairs(a.check_text_json({"txt": "Hi."}, "translation")) == [("audio.translation.json", "/")]
    assert a.check_verbose_json(VERBOSE, "transcription") == []
    missing = {k: v for k, v in VERBOSE.items() if k != "segments"}
    assert pairs(a.check_verbose_json(missing, "translation")) == [("audio.translation.verbose-json", "/")]
