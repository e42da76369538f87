"""Checks for speech, transcriptions and translations (SPEC-DECISIONS §19-20, catalogue audio.*).

Owns: the speech Content-Type and byte signature per requested format, WAV parsing (the
``wave`` module, with a RIFF fallback for encodings it does not know), and the transcription /
translation answers: json, text, SubRip and WebVTT (parsed, timestamps ordered), verbose_json.
``task`` is "transcription" or "translation" and picks the requirement ids.
Imports conformance.model and conformance.spec only.
"""

from __future__ import annotations

import io
import re
import struct
import wave
from typing import Any

from conformance import spec
from conformance.checks._judged import judges
from conformance.model import Exchange, Findings, Violation, truncate

#: Accepted Content-Types per speech response_format (SPEC-DECISIONS §19).
SPEECH_CONTENT_TYPES: dict[str, frozenset[str]] = {
    "mp3": frozenset({"audio/mpeg"}),
    "wav": frozenset({"audio/wav", "audio/x-wav"}),
    "opus": frozenset({"audio/ogg", "audio/opus"}),
    "aac": frozenset({"audio/aac"}),
    "flac": frozenset({"audio/flac"}),
    "pcm": frozenset({"audio/pcm", "application/octet-stream"}),
}

_SIGNATURES = {
    "mp3": "ID3 tag or MPEG frame sync",
    "wav": "RIFF....WAVE",
    "opus": "OggS",
    "aac": "ADTS sync word 0xFFF",
    "flac": "fLaC",
    "pcm": "a non-empty even number of bytes (16-bit samples)",
}


def has_signature(data: bytes, fmt: str) -> bool:
    """Whether ``data`` starts the way a file of speech format ``fmt`` must."""
    if fmt == "mp3":
        return data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0)
    if fmt == "wav":
        return len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    if fmt == "opus":
        return data.startswith(b"OggS")
    if fmt == "aac":
        return len(data) > 1 and data[0] == 0xFF and data[1] & 0xF0 == 0xF0
    if fmt == "flac":
        return data.startswith(b"fLaC")
    if fmt == "pcm":
        return len(data) > 0 and len(data) % 2 == 0
    raise ValueError(f"unknown speech format {fmt!r}")


@judges("audio.speech.content-type")
def check_speech_content_type(exchange: Exchange, fmt: str) -> list[Violation]:
    """The Content-Type is one §19 accepts for the requested format."""
    accepted = SPEECH_CONTENT_TYPES[fmt]
    if exchange.content_type in accepted:
        return []
    return [Violation("audio.speech.content-type", " or ".join(sorted(accepted)),
                      truncate(exchange.header("content-type")), "Content-Type")]


@judges("audio.speech.signature")
def check_speech_signature(data: bytes, fmt: str) -> list[Violation]:
    """The audio bytes carry the signature of the requested format."""
    if has_signature(data, fmt):
        return []
    return [Violation("audio.speech.signature", f"{fmt}: {_SIGNATURES[fmt]}", truncate(data[:16].hex()), "body")]


def wav_duration(data: bytes) -> float:
    """Seconds of audio in a WAV file (raises ValueError when it does not parse)."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            rate, width, channels = wav.getframerate(), wav.getsampwidth(), wav.getnchannels()
            # A streamed WAV may declare a placeholder data size: count what really arrived.
            frames = len(wav.readframes(wav.getnframes())) // max(width * channels, 1)
            return frames / rate if rate else 0.0
    except wave.Error as exc:
        if "unknown format" not in str(exc):
            raise ValueError(str(exc)) from exc
    except EOFError as exc:
        raise ValueError("truncated WAV") from exc
    # wave (before 3.12) rejects valid encodings such as IEEE float or WAVE_FORMAT_EXTENSIBLE.
    return _riff_duration(data)


def _riff_duration(data: bytes) -> float:
    """Duration from the fmt byte rate and the data chunk of a RIFF/WAVE file."""
    pos, byte_rate, length = 12, 0, None
    while pos + 8 <= len(data):
        chunk, size = data[pos:pos + 4], int(struct.unpack("<I", data[pos + 4:pos + 8])[0])
        if chunk == b"fmt " and size >= 16 and pos + 20 <= len(data):
            byte_rate = int(struct.unpack("<I", data[pos + 16:pos + 20])[0])
        elif chunk == b"data":
            length = min(size, len(data) - pos - 8)
            break
        pos += 8 + size + (size & 1)
    if not byte_rate or length is None:
        raise ValueError("no fmt or data chunk")
    return length / byte_rate


@judges("audio.speech.wav-parses")
def check_wav(data: bytes) -> list[Violation]:
    """WAV speech parses as WAVE and has a non-zero duration."""
    try:
        duration = wav_duration(data)
    except ValueError as exc:
        return [Violation("audio.speech.wav-parses", "a WAVE file", f"does not parse: {truncate(str(exc))}", "body")]
    if duration <= 0:
        return [Violation("audio.speech.wav-parses", "a non-zero duration", f"{duration} s", "body")]
    return []


# --------------------------------------------------------------------------- transcriptions

@judges()
def check_text_json(body: Any, task: str) -> list[Violation]:
    """response_format json: ``{"text": <string>}`` (TranscriptionResponse / TranslationResponse)."""
    name = "TranscriptionResponse" if task == "transcription" else "TranslationResponse"
    requirement = f"audio.{task}.json"
    return Findings(spec.validate(body, name, requirement=requirement), judged={requirement})


@judges()
def check_plain_text(exchange: Exchange, task: str) -> list[Violation]:
    """response_format text: a text/plain body that decodes as UTF-8."""
    found = []
    if exchange.content_type != "text/plain":
        found.append(Violation(f"audio.{task}.text", "Content-Type text/plain",
                               truncate(exchange.header("content-type")), "Content-Type"))
    try:
        exchange.body.decode("utf-8")
    except UnicodeDecodeError:
        found.append(Violation(f"audio.{task}.text", "a UTF-8 text body", truncate(exchange.body[:32].hex()), "body"))
    return Findings(found, judged={f"audio.{task}.text"})


_SRT_TIME = re.compile(r"^(\d{2,}):([0-5]\d):([0-5]\d),(\d{3})$")
_VTT_TIME = re.compile(r"^(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})$")


def _seconds(match: re.Match[str]) -> float:
    hours, minutes, seconds, millis = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


def _blocks(text: str) -> list[list[str]]:
    """Non-empty blocks of lines separated by blank lines (CRLF, CR and a BOM tolerated)."""
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _timing(line: str, pattern: re.Pattern[str], *, settings_allowed: bool) -> tuple[float, float] | None:
    parts = line.split()
    if len(parts) < 3 or parts[1] != "-->" or (len(parts) > 3 and not settings_allowed):
        return None
    start, end = pattern.match(parts[0]), pattern.match(parts[2])
    return (_seconds(start), _seconds(end)) if start and end else None


def _ordered(cues: list[tuple[int, float, float]], requirement: str) -> list[Violation]:
    """Each cue ends at or after its start; starts never go backwards."""
    found, last = [], 0.0
    for number, start, end in cues:
        if end < start:
            found.append(Violation(requirement, "cue end >= cue start", f"{start} --> {end}", f"cue[{number}]"))
        if start < last:
            found.append(Violation(requirement, f"cue start >= previous cue start ({last})", str(start),
                                   f"cue[{number}]"))
        last = max(last, start)
    return found


@judges()
def check_srt(text: str, task: str) -> list[Violation]:
    """Well-formed SubRip: numbered cues, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, ordered times."""
    requirement, found = f"audio.{task}.srt", []
    cues: list[tuple[int, float, float]] = []
    previous = 0
    for k, block in enumerate(_blocks(text)):
        timing = _timing(block[1], _SRT_TIME, settings_allowed=False) if len(block) > 1 else None
        if not block[0].strip().isdigit() or timing is None:
            found.append(Violation(requirement, "a cue: number line, then HH:MM:SS,mmm --> HH:MM:SS,mmm",
                                   truncate("\n".join(block)), f"cue[{k}]"))
            continue
        number = int(block[0])
        if number <= previous:
            found.append(Violation(requirement, f"cue numbers increasing (after {previous})", str(number),
                                   f"cue[{k}]"))
        previous = number
        cues.append((k, *timing))
    return Findings(found + _ordered(cues, requirement), judged={requirement})


@judges()
def check_vtt(text: str, task: str) -> list[Violation]:
    """Well-formed WebVTT: ``WEBVTT`` header, cues with ``[HH:]MM:SS.mmm --> ...``, ordered times."""
    requirement = f"audio.{task}.vtt"
    blocks = _blocks(text)
    header = blocks[0][0] if blocks else ""
    if not re.match(r"^WEBVTT([ \t].*)?$", header):
        return Findings([Violation(requirement, "a first line WEBVTT", truncate(header), "line[0]")])
    found, cues = [], []
    for k, block in enumerate(blocks[1:], start=1):
        if block[0].startswith(("NOTE", "STYLE", "REGION")):
            continue
        # An optional cue identifier line may precede the timing line.
        line = block[0] if "-->" in block[0] else (block[1] if len(block) > 1 else "")
        timing = _timing(line, _VTT_TIME, settings_allowed=True)
        if timing is None:
            found.append(Violation(requirement, "a cue timing [HH:]MM:SS.mmm --> [HH:]MM:SS.mmm",
                                   truncate("\n".join(block)), f"cue[{k}]"))
            continue
        cues.append((k, *timing))
    return Findings(found + _ordered(cues, requirement), judged={requirement})


@judges()
def check_verbose_json(body: Any, task: str) -> list[Violation]:
    """verbose_json: task, language, duration, text and segments (TranscriptionVerboseResponse)."""
    requirement = f"audio.{task}.verbose-json"
    return Findings(spec.validate(body, "TranscriptionVerboseResponse", requirement=requirement), judged={requirement})
