"""The reference's text-to-speech engine (SPEC-DECISIONS 19): small, real audio files.

Every ``response_format`` gets bytes a decoder accepts, built with the standard library:
wav (``wave``: mono 16-bit 24 kHz tone), pcm (the same samples, raw), mp3 (silent MPEG-1
Layer III frames), opus (Ogg pages with OpusHead, OpusTags and silent Opus packets), aac
(ADTS frames with a silent raw data block) and flac (STREAMINFO plus CONSTANT-subframe
frames). The tone's pitch derives from the text and voice, its length from the text and speed.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
import wave
from collections.abc import Mapping
from typing import Any

from conformance.reference.api_error import ApiError
from conformance.reference.engines import BinaryResult
from conformance.reference.faultset import FaultSet

FAULTS: dict[str, str] = {
    "audio.speech.content-type": "wrong Content-Type: mp3 is sent as audio/wav, every other format as audio/mpeg.",
    "audio.speech.signature": "the bytes are zeros (no format signature); pcm loses its last byte (odd length); "
    "wav is left sound, since a WAV without RIFF/WAVE would fail audio.speech.wav-parses too.",
    "audio.speech.wav-parses": "wav is a RIFF/WAVE file whose data chunk holds zero frames.",
    "audio.speech.wav-parses@truncated": "wav is cut inside its fmt chunk (RIFF/WAVE signature kept).",
    "audio.speech.invalid-speed": "a speed outside 0.25..4.0 is accepted (synthesised clamped).",
    "audio.speech.empty-input": "an empty input is accepted.",
}

#: response_format -> Content-Type of the answer.
CONTENT_TYPES: dict[str, str] = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
DEFAULT_FORMAT = "mp3"
SAMPLE_RATE = 24_000
MIN_SPEED, MAX_SPEED = 0.25, 4.0


def synthesize(body: Mapping[str, Any], faults: FaultSet) -> BinaryResult:
    """Answer a speech request with audio bytes of the requested format.

    Raises:
        ApiError: 400 for an empty input, a speed outside 0.25..4.0 or an unknown format.
    """
    text = body.get("input")
    if not isinstance(text, str) or (not text and not faults.on("audio.speech.empty-input")):
        raise ApiError(400, "input must be a non-empty string", param="input", code="invalid_value")
    speed = _speed(body.get("speed"), faults)
    fmt = body.get("response_format") or DEFAULT_FORMAT
    if fmt not in CONTENT_TYPES:
        raise ApiError(400, f"unknown response_format {fmt!r}", param="response_format", code="invalid_value")
    seed = hashlib.sha256(f"{body.get('voice')}|{text}".encode()).digest()
    seconds = min(1.0, 0.25 + 0.005 * len(text)) / speed
    data = _encode(fmt, seed, seconds, faults)
    if faults.on("audio.speech.signature") and fmt != "wav":
        # pcm has no header: an odd byte count is what cannot be 16-bit samples.
        data = data[:-1] if fmt == "pcm" else bytes(len(data))
    content_type = CONTENT_TYPES[fmt]
    if faults.on("audio.speech.content-type"):
        content_type = "audio/wav" if fmt == "mp3" else "audio/mpeg"
    return BinaryResult(data, content_type)


def _speed(value: object, faults: FaultSet) -> float:
    if value is None:
        return 1.0
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
        raise ApiError(400, "speed must be a number", param="speed", code="invalid_value")
    if MIN_SPEED <= value <= MAX_SPEED:
        return float(value)
    if faults.on("audio.speech.invalid-speed"):
        return min(MAX_SPEED, max(MIN_SPEED, float(value)))
    raise ApiError(400, f"speed {value} is outside {MIN_SPEED}..{MAX_SPEED}", param="speed", code="invalid_value")


def _encode(fmt: str, seed: bytes, seconds: float, faults: FaultSet) -> bytes:
    if fmt == "wav":
        return wav_bytes(_tone(seed, seconds), faults)
    if fmt == "pcm":
        return _tone(seed, seconds)
    if fmt == "mp3":
        return mp3_bytes(seconds)
    if fmt == "opus":
        return ogg_opus_bytes(seconds)
    if fmt == "aac":
        return adts_bytes(seconds)
    return flac_bytes(seconds)


def _tone(seed: bytes, seconds: float) -> bytes:
    """Mono signed 16-bit little-endian samples of a sine whose pitch derives from ``seed``."""
    frequency = 220 + int.from_bytes(seed[:2], "big") % 440
    count = max(1, int(SAMPLE_RATE * seconds))
    samples = (int(9000 * math.sin(2 * math.pi * frequency * n / SAMPLE_RATE)) for n in range(count))
    return struct.pack(f"<{count}h", *samples)


def wav_bytes(pcm: bytes, faults: FaultSet) -> bytes:
    """A RIFF/WAVE file of mono 16-bit samples (``pcm``), or a broken one under its faults."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(b"" if faults.on("audio.speech.wav-parses") else pcm)
    data = buffer.getvalue()
    if faults.on("audio.speech.wav-parses@truncated"):
        return data[:20]  # "RIFF" size "WAVE" "fmt " + 4 bytes of its size: no format data
    return data


def mp3_bytes(seconds: float) -> bytes:
    """Silent MPEG-1 Layer III frames: 128 kbit/s, 44.1 kHz, mono, 417 bytes each."""
    header = bytes([0xFF, 0xFB, 0x90, 0xC4])  # sync, MPEG-1, Layer III, no CRC; 128k, 44.1k; mono
    frame = header + bytes(417 - len(header))  # all-zero side info and main data: silence
    return frame * max(1, round(seconds * 44_100 / 1152))


def adts_bytes(seconds: float) -> bytes:
    """AAC-LC ADTS frames (mono, 24 kHz), each carrying a silent single-channel element."""
    payload = b"\x00\x00\x00\x07"  # SCE with max_sfb 0 (no spectral data), then END
    length = 7 + len(payload)
    profile, rate_index, channels = 1, 6, 1  # AAC LC (object type - 1), 24 kHz, mono
    header = bytes(
        [
            0xFF,
            0xF1,  # sync, MPEG-4, layer 0, no CRC
            (profile << 6) | (rate_index << 2) | (channels >> 2),
            ((channels & 3) << 6) | (length >> 11),
            (length >> 3) & 0xFF,
            ((length & 7) << 5) | 0x1F,  # buffer fullness 0x7FF (VBR), high bits
            0xFC,  # buffer fullness low bits, one raw data block
        ]
    )
    return (header + payload) * max(1, round(seconds * SAMPLE_RATE / 1024))


def ogg_opus_bytes(seconds: float) -> bytes:
    """An Ogg Opus stream: OpusHead page, OpusTags page, one page of silent 20 ms packets."""
    serial = 0x4E584841
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, SAMPLE_RATE, 0, 0)
    vendor = b"nexhina-reference"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    packets = max(1, round(seconds / 0.02))
    silence = b"\xf8\xff\xfe"  # TOC: CELT-only fullband 20 ms mono, one frame; a silent frame
    return (
        _ogg_page([head], serial, 0, granule=0, flags=0x02)
        + _ogg_page([tags], serial, 1, granule=0, flags=0)
        + _ogg_page([silence] * packets, serial, 2, granule=960 * packets, flags=0x04)
    )


def _ogg_page(packets: list[bytes], serial: int, sequence: int, *, granule: int, flags: int) -> bytes:
    lacing = bytearray()
    for packet in packets:  # lacing: one 255 per full 255-byte run, then the remainder
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    header = b"OggS" + struct.pack("<BBqIIIB", 0, flags, granule, serial, sequence, 0, len(lacing))
    page = bytearray(header + bytes(lacing) + b"".join(packets))
    page[22:26] = struct.pack("<I", _ogg_crc(bytes(page)))
    return bytes(page)


def _ogg_crc(data: bytes) -> int:
    """Ogg's CRC-32: polynomial 0x04C11DB7, no reflection, initial value 0."""
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def flac_bytes(seconds: float) -> bytes:
    """A FLAC stream: STREAMINFO (with the MD5 of the samples) and silent 4096-sample frames."""
    block = 4096
    frames = [_flac_frame(number) for number in range(max(1, round(seconds * SAMPLE_RATE / block)))]
    total = block * len(frames)
    size = len(frames[0])
    info = struct.pack(">HH", block, block) + size.to_bytes(3, "big") * 2
    info += ((SAMPLE_RATE << 44) | (0 << 41) | (15 << 36) | total).to_bytes(8, "big")  # mono, 16-bit
    info += hashlib.md5(bytes(2 * total)).digest()
    return b"fLaC" + bytes([0x80, 0, 0, len(info)]) + info + b"".join(frames)


def _flac_frame(number: int) -> bytes:
    """One fixed-blocksize frame of 4096 samples: a CONSTANT subframe of value 0."""
    # sync + fixed blocking; block size code 12 (4096), rate code 7 (24 kHz); mono, 16-bit
    header = bytes([0xFF, 0xF8, 0xC7, 0x08, number])  # frame number < 128: one UTF-8 byte
    header += bytes([_crc8(header)])
    frame = header + b"\x00" + b"\x00\x00"  # subframe type CONSTANT, no wasted bits; value 0
    return frame + struct.pack(">H", _crc16(frame))


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc
