"""Unit tests of the reference's speech engine: every format is real, every fault bites."""

from __future__ import annotations

import io
import struct
import wave
from typing import Any

import pytest

from conformance.reference.api_error import ApiError
from conformance.reference.engines import BinaryResult, speech
from conformance.reference.faultset import FaultSet

CLEAN = FaultSet()
SIGNATURE_OK = {
    "mp3": lambda b: b[:3] == b"ID3" or (b[0] == 0xFF and b[1] & 0xE0 == 0xE0),
    "wav": lambda b: b[:4] == b"RIFF" and b[8:12] == b"WAVE",
    "opus": lambda b: b[:4] == b"OggS",
    "aac": lambda b: b[0] == 0xFF and b[1] & 0xF6 == 0xF0,
    "flac": lambda b: b[:4] == b"fLaC",
}


def faults(*names: str) -> FaultSet:
    return FaultSet(frozenset(names))


def say(fault_set: FaultSet = CLEAN, **extra: Any) -> BinaryResult:
    return speech.synthesize({"model": "ref-tts", "input": "Hello there", "voice": "alloy", **extra}, fault_set)


def wav_seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data), "rb") as reader:
        assert (reader.getnchannels(), reader.getsampwidth()) == (1, 2)
        return reader.getnframes() / reader.getframerate()


def test_crc_helpers_match_their_published_check_values() -> None:
    assert speech._crc8(b"123456789") == 0xF4  # CRC-8 poly 0x07 (FLAC frame header)
    assert speech._crc16(b"123456789") == 0xFEE8  # CRC-16/BUYPASS (FLAC frame)
    assert speech._ogg_crc(b"123456789") == 0x89A1897F  # CRC-32 poly 0x04C11DB7, init 0, no xor


def test_default_is_mp3_and_output_is_deterministic() -> None:
    result = say()
    assert result.content_type == "audio/mpeg" and SIGNATURE_OK["mp3"](result.body)
    assert say() == result


@pytest.mark.parametrize("fmt", sorted(speech.CONTENT_TYPES))
def test_every_format_has_its_content_type_and_signature(fmt: str) -> None:
    result = say(response_format=fmt)
    assert result.content_type == speech.CONTENT_TYPES[fmt]
    assert len(result.body) > 0
    if fmt in SIGNATURE_OK:
        assert SIGNATURE_OK[fmt](result.body)


def test_wav_parses_and_speed_shortens_it() -> None:
    normal = wav_seconds(say(response_format="wav").body)
    fast = wav_seconds(say(response_format="wav", speed=2.0).body)
    assert normal > 0 and fast == pytest.approx(normal / 2, rel=0.01)
    assert say(response_format="pcm").body == say(response_format="wav").body[44:]


def test_mp3_is_a_sequence_of_frames() -> None:
    data = say(response_format="mp3").body
    assert len(data) % 417 == 0
    assert all(data[i : i + 4] == b"\xff\xfb\x90\xc4" for i in range(0, len(data), 417))


def test_adts_frames_chain_by_their_length_field() -> None:
    data, pos, frames = say(response_format="aac").body, 0, 0
    while pos < len(data):
        assert data[pos] == 0xFF and data[pos + 1] == 0xF1
        pos += ((data[pos + 3] & 3) << 11) | (data[pos + 4] << 3) | (data[pos + 5] >> 5)
        frames += 1
    assert pos == len(data) and frames > 0


def test_ogg_pages_have_valid_crcs_and_opus_headers() -> None:
    data, pos, pages = say(response_format="opus").body, 0, []
    while pos < len(data):
        assert data[pos : pos + 4] == b"OggS"
        count = data[pos + 26]
        size = 27 + count + sum(data[pos + 27 : pos + 27 + count])
        page = bytearray(data[pos : pos + size])
        (crc,) = struct.unpack("<I", page[22:26])
        page[22:26] = bytes(4)
        assert speech._ogg_crc(bytes(page)) == crc
        pages.append(bytes(page))
        pos += size
    assert pos == len(data) and len(pages) == 3
    assert pages[0][5] == 0x02 and pages[-1][5] == 0x04  # beginning and end of stream
    assert b"OpusHead" in pages[0] and b"OpusTags" in pages[1]


def test_flac_streaminfo_and_frames_agree() -> None:
    data = say(response_format="flac").body
    assert data[4] == 0x80 and data[5:8] == b"\x00\x00\x22"  # last block, STREAMINFO, 34 bytes
    info = data[8:42]
    (packed,) = struct.unpack(">Q", info[10:18])
    rate, channels, bits, total = (
        packed >> 44,
        ((packed >> 41) & 7) + 1,
        ((packed >> 36) & 31) + 1,
        packed & (2**36 - 1),
    )
    assert (rate, channels, bits) == (speech.SAMPLE_RATE, 1, 16)
    frames = data[42:]
    frame_size = int.from_bytes(info[4:7], "big")
    assert len(frames) % frame_size == 0 and total == 4096 * (len(frames) // frame_size)
    for pos in range(0, len(frames), frame_size):
        frame = frames[pos : pos + frame_size]
        assert frame[:2] == b"\xff\xf8" and speech._crc8(frame[:5]) == frame[5]
        assert speech._crc16(frame[:-2]) == int.from_bytes(frame[-2:], "big")


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"input": ""}, "input"),
        ({"speed": 0.2}, "speed"),
        ({"speed": 4.5}, "speed"),
        ({"response_format": "ogg"}, "response_format"),
    ],
)
def test_bad_requests_are_400(extra: dict[str, Any], param: str) -> None:
    with pytest.raises(ApiError) as caught:
        say(**extra)
    assert caught.value.status == 400 and caught.value.param == param


@pytest.mark.parametrize("speed", [0.25, 4.0])
def test_speed_bounds_are_inclusive(speed: float) -> None:
    assert wav_seconds(say(response_format="wav", speed=speed).body) > 0


def test_fault_content_type() -> None:
    assert say(faults("audio.speech.content-type")).content_type == "audio/wav"
    assert say(faults("audio.speech.content-type"), response_format="wav").content_type == "audio/mpeg"


@pytest.mark.parametrize("fmt", sorted(set(SIGNATURE_OK) - {"wav"}))
def test_fault_signature_removes_the_signature(fmt: str) -> None:
    result = say(faults("audio.speech.signature"), response_format=fmt)
    assert result.content_type == speech.CONTENT_TYPES[fmt] and not SIGNATURE_OK[fmt](result.body)


def test_fault_signature_makes_pcm_odd() -> None:
    assert len(say(response_format="pcm").body) % 2 == 0
    assert len(say(faults("audio.speech.signature"), response_format="pcm").body) % 2 == 1
    assert say(faults("audio.speech.signature"), response_format="wav") == say(response_format="wav")


def test_fault_wav_parses_variants_keep_the_signature() -> None:
    empty = say(faults("audio.speech.wav-parses"), response_format="wav").body
    assert SIGNATURE_OK["wav"](empty) and wav_seconds(empty) == 0
    cut = say(faults("audio.speech.wav-parses@truncated"), response_format="wav").body
    assert SIGNATURE_OK["wav"](cut)
    with pytest.raises((wave.Error, EOFError)):
        wav_seconds(cut)


def test_fault_invalid_speed_and_empty_input_are_accepted() -> None:
    assert say(faults("audio.speech.invalid-speed"), speed=10).body
    assert say(faults("audio.speech.invalid-speed"), speed=0.01, response_format="wav").body
    assert SIGNATURE_OK["mp3"](say(faults("audio.speech.empty-input"), input="").body)
