"""The reference's transcription and translation engine (SPEC-DECISIONS 20).

The "recognised" text is English words picked by hashing the uploaded bytes, so the same
file always gives the same text. The duration is the WAV duration when the file parses as
WAVE, else the byte length at 16 kB/s (128 kbit/s), and never under one second. The text is
split into 2..6 evenly timed segments, which every format (json, text, srt, vtt,
verbose_json, diarized_json) renders.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.reference.api_error import ApiError
from conformance.reference.engines import BinaryResult
from conformance.reference.faultset import FaultSet

_AREAS = ("audio.transcription", "audio.translation")
_FAULT_TEXT = {
    "json": "json answers {'transcript': ...} without 'text'.",
    "text": "text is answered as JSON {'text': ...} (application/json).",
    "srt": "srt cue timings are in reverse order (cue 2 starts before cue 1).",
    "vtt": "vtt lacks the WEBVTT header.",
    "verbose-json": "verbose_json lacks segments.",
    "missing-file": "a request without a file is answered 200 as if an empty file had been sent.",
}
FAULTS: dict[str, str] = {f"{area}.{name}": text for area in _AREAS for name, text in _FAULT_TEXT.items()}

TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
SRT_CONTENT_TYPE = "text/plain; charset=utf-8"
VTT_CONTENT_TYPE = "text/vtt; charset=utf-8"
#: Bytes per second assumed for a file that is not WAV (128 kbit/s, a typical MP3).
_BYTES_PER_SECOND = 16_000
_WORDS = (
    "the quick brown fox jumps over a lazy dog while seven bright stars shine above "
    "quiet hills and rivers flow gently toward the distant sea under morning light"
).split()
_LANGUAGES = {
    "en": "english", "fr": "french", "de": "german", "es": "spanish", "it": "italian",
    "pt": "portuguese", "nl": "dutch", "ru": "russian", "zh": "chinese", "ja": "japanese",
    "ko": "korean", "ar": "arabic", "hi": "hindi", "pl": "polish", "tr": "turkish",
}  # fmt: skip


@dataclass(frozen=True)
class UploadedFile:
    """The ``file`` part of a multipart request."""

    filename: str
    content: bytes
    content_type: str


@dataclass(frozen=True)
class _Segment:
    id: int
    start: float
    end: float
    text: str


def transcribe(
    fields: Mapping[str, str], file: UploadedFile | None, faults: FaultSet, *, task: str
) -> dict[str, Any] | BinaryResult:
    """Answer a transcription (``task="transcribe"``) or translation (``task="translate"``).

    Args:
        fields: the non-file form fields (model, response_format, language, ...).
        file: the uploaded audio, or None when the request had no ``file`` part.
        faults: active faults; they are looked up under this task's requirement area.
        task: ``transcribe`` or ``translate``.

    Raises:
        ApiError: 400 without a file (accepted as empty under the missing-file fault) or for an
            unknown response_format.
    """
    area = "audio.translation" if task == "translate" else "audio.transcription"
    if file is None:
        if not faults.on(f"{area}.missing-file"):
            raise ApiError(400, "a 'file' part is required", param="file", code="missing_required_parameter")
        file = UploadedFile(filename="", content=b"", content_type="application/octet-stream")
    fmt = fields.get("response_format") or "json"
    segments = _segments(file.content, task)
    text = " ".join(segment.text for segment in segments)
    if fmt == "json":
        return {"transcript": text} if faults.on(f"{area}.json") else {"text": text}
    if fmt == "text":
        if faults.on(f"{area}.text"):
            return {"text": text}
        return BinaryResult((text + "\n").encode("utf-8"), TEXT_CONTENT_TYPE)
    if fmt == "srt":
        return BinaryResult(srt(segments, reverse=faults.on(f"{area}.srt")).encode(), SRT_CONTENT_TYPE)
    if fmt == "vtt":
        return BinaryResult(vtt(segments, header=not faults.on(f"{area}.vtt")).encode(), VTT_CONTENT_TYPE)
    if fmt == "verbose_json":
        answer = _verbose(fields, segments, text, task)
        if faults.on(f"{area}.verbose-json"):
            del answer["segments"]
        return answer
    if fmt == "diarized_json" and task == "transcribe":
        return _diarized(segments, text)
    raise ApiError(400, f"unknown response_format {fmt!r}", param="response_format", code="invalid_value")


def audio_duration(content: bytes) -> float:
    """Seconds of audio: from the WAVE header when it parses, else from the byte length; >= 1."""
    seconds = _wav_seconds(content)
    if seconds is None:
        seconds = len(content) / _BYTES_PER_SECOND
    return round(max(1.0, seconds), 3)


def _wav_seconds(content: bytes) -> float | None:
    """The duration of a PCM WAVE file, or None when ``content`` is not one.

    A small RIFF walk instead of the ``wave`` module: ``wave`` raises RuntimeError (among
    others) on some malformed uploads, and an upload is arbitrary bytes.
    """
    if len(content) < 12 or content[:4] != b"RIFF" or content[8:12] != b"WAVE":
        return None
    rate = block_align = 0
    pos = 12
    while pos + 8 <= len(content):
        kind, size = content[pos : pos + 4], struct.unpack_from("<I", content, pos + 4)[0]
        body = content[pos + 8 : pos + 8 + size]
        if kind == b"fmt " and len(body) >= 16:
            _tag, _channels, rate, _byte_rate, block_align = struct.unpack_from("<HHIIH", body)
        elif kind == b"data":
            return len(body) / (rate * block_align) if rate and block_align else None
        pos += 8 + size + (size & 1)  # chunks are padded to an even length
    return None


def _segments(content: bytes, task: str) -> list[_Segment]:
    duration = audio_duration(content)
    count = min(6, max(2, math.ceil(duration / 2.5)))
    seed = hashlib.sha256(task.encode() + b"\0" + content).digest()
    segments = []
    for i in range(count):
        words = [_WORDS[seed[(i * 5 + j) % len(seed)] % len(_WORDS)] for j in range(3 + seed[i] % 3)]
        start, end = round(duration * i / count, 3), round(duration * (i + 1) / count, 3)
        segments.append(_Segment(i, start, end, " ".join(words).capitalize() + "."))
    return segments


def _clock(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def srt(segments: list[_Segment], *, reverse: bool = False) -> str:
    """SubRip: numbered cues ``HH:MM:SS,mmm --> HH:MM:SS,mmm``; ``reverse`` swaps the timings."""
    times = [(s.start, s.end) for s in segments]
    if reverse:
        times.reverse()
    cues = [
        f"{n}\n{_clock(start, ',')} --> {_clock(end, ',')}\n{segment.text}\n"
        for n, (segment, (start, end)) in enumerate(zip(segments, times, strict=True), start=1)
    ]
    return "\n".join(cues)


def vtt(segments: list[_Segment], *, header: bool = True) -> str:
    """WebVTT: the ``WEBVTT`` line, a blank line, then ``HH:MM:SS.mmm --> ...`` cues."""
    cues = [f"{_clock(s.start, '.')} --> {_clock(s.end, '.')}\n{s.text}\n" for s in segments]
    return ("WEBVTT\n\n" if header else "") + "\n".join(cues)


def _verbose(fields: Mapping[str, str], segments: list[_Segment], text: str, task: str) -> dict[str, Any]:
    language = "english" if task == "translate" else _LANGUAGES.get(fields.get("language", "en"), "english")
    answer: dict[str, Any] = {
        "task": task,
        "language": language,
        "duration": segments[-1].end,
        "text": text,
        "segments": [_segment_json(s) for s in segments],
    }
    if "word" in fields.get("timestamp_granularities[]", ""):
        answer["words"] = [word for s in segments for word in _words(s)]
    return answer


def _segment_json(segment: _Segment) -> dict[str, Any]:
    return {
        "id": segment.id,
        "seek": round(segment.start * 100),
        "start": segment.start,
        "end": segment.end,
        "text": segment.text,
        "tokens": [50_364 + i for i in range(len(segment.text.split()))],
        "temperature": 0.0,
        "avg_logprob": -0.25,
        "compression_ratio": 1.2,
        "no_speech_prob": 0.01,
    }


def _words(segment: _Segment) -> list[dict[str, Any]]:
    words = segment.text.split()
    step = (segment.end - segment.start) / len(words)
    return [
        {"word": w, "start": round(segment.start + i * step, 3), "end": round(segment.start + (i + 1) * step, 3)}
        for i, w in enumerate(words)
    ]


def _diarized(segments: list[_Segment], text: str) -> dict[str, Any]:
    return {
        "task": "transcribe",
        "duration": segments[-1].end,
        "text": text,
        "segments": [
            {
                "type": "transcript.text.segment",
                "id": f"seg_{s.id}",
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "speaker": "A" if s.id % 2 == 0 else "B",
            }
            for s in segments
        ],
    }
