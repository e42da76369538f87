"""The scripted upstream's media answers: images, speech, transcriptions and translations.

Owns ``MEDIA_PATHS`` (upstream path -> operation), ``FORM_OPERATIONS`` (those sent as
multipart), ``read_form`` (a multipart body as an ``UpstreamForm``) and ``media_answer`` (the
scripted 200 answer of one media request: JSON images with ``b64_json``, speech audio bytes in
the asked ``response_format``, transcription and translation text in the asked format). Every
answer is derived from the request's marker, so answers to two requests differ and a relay
that swaps, truncates or re-encodes them shows. Pure but for ``read_form`` (it parses bytes).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import struct
import zlib
from collections.abc import Mapping
from typing import Any, Final

from starlette.datastructures import Headers

from conformance.reference import bodies
from conformance.reference.api_error import ApiError
from conformance.reference.engines.speech import SAMPLE_RATE, wav_bytes
from conformance.reference.faultset import FaultSet
from conformance.upstream.records import UpstreamFile, UpstreamForm

#: Upstream path -> media operation.
MEDIA_PATHS: Final[Mapping[str, str]] = {
    "/v1/images/generations": "images", "/v1/audio/speech": "speech",
    "/v1/audio/transcriptions": "transcription", "/v1/audio/translations": "translation",
}
#: Media operations whose request is a multipart form (the rest are JSON).
FORM_OPERATIONS: Final[frozenset[str]] = frozenset({"transcription", "translation"})
#: Speech ``response_format`` -> the Content-Type of the upstream's audio (mp3 when absent).
SPEECH_TYPES: Final[Mapping[str, str]] = {
    "mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac", "wav": "audio/wav",
    "pcm": "audio/pcm",
}
#: Bytes of scripted speech audio besides a WAV header (large enough that a truncation shows).
SPEECH_BYTES: Final[int] = 4096
_CREATED: Final[int] = 1_767_225_601


async def read_form(headers: Headers, raw: bytes) -> UpstreamForm | None:
    """The parts of a multipart body, or None when the body is not (well-formed) multipart."""
    if bodies.media_type(headers) != "multipart/form-data":
        return None
    try:
        texts, upload = await bodies.parse_multipart(headers, raw)
    except ApiError:
        return None
    file = None if upload is None else UpstreamFile(upload.filename, upload.content_type, upload.content)
    return UpstreamForm(tuple(texts), file)


def media_answer(operation: str, params: Mapping[str, Any], marker: str) -> tuple[int, bytes, str]:
    """(status, body, content type) of the scripted answer to one media request.

    ``params`` is the JSON body (images, speech) or the form's text fields (transcription,
    translation); ``marker`` the request's marker (empty without one).
    """
    seed = marker or json.dumps(params, sort_keys=True, default=str)
    if operation == "images":
        return 200, _json(_images(params, seed)), "application/json"
    if operation == "speech":
        fmt = str(params.get("response_format") or "mp3")
        kind = SPEECH_TYPES.get(fmt, "application/octet-stream")
        return 200, speech_audio(fmt, seed), kind
    return _text(operation, params, marker or "an unmarked upload")


def _json(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _images(params: Mapping[str, Any], seed: str) -> dict[str, Any]:
    n = params.get("n")
    count = n if isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 4 else 1
    url = params.get("response_format") == "url"
    data = []
    for i in range(count):
        item: dict[str, Any] = ({"url": f"https://nxc-upstream.invalid/images/{seed}-{i}.png"} if url
                                else {"b64_json": base64.b64encode(tiny_png(f"{seed}/{i}")).decode()})
        item["revised_prompt"] = f"Scripted image {i} for {seed}."
        data.append(item)
    return {"created": _CREATED, "data": data}


def tiny_png(seed: str) -> bytes:
    """A valid 2x2 RGB PNG whose colours derive from ``seed``."""
    digest = hashlib.sha256(seed.encode()).digest()
    rows = b"".join(b"\x00" + digest[r * 6:(r + 1) * 6] for r in range(2))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def speech_audio(fmt: str, seed: str) -> bytes:
    """Scripted speech in ``fmt``: a real WAV for ``wav``, else seeded bytes of about ``SPEECH_BYTES``."""
    digest = hashlib.sha256(seed.encode()).digest()
    if fmt == "wav":
        frames = SPEECH_BYTES // 2
        tone = 200 + digest[0] * 2
        pcm = struct.pack(f"<{frames}h", *(round(3000 * math.sin(2 * math.pi * tone * i / SAMPLE_RATE))
                                           for i in range(frames)))
        return wav_bytes(pcm, FaultSet())          # the reference's WAV writer, no fault on
    head = {"mp3": b"ID3\x04\x00\x00", "flac": b"fLaC", "opus": b"OggS", "aac": b"\xff\xf1"}.get(fmt, b"")
    body = b"".join(hashlib.sha256(digest + i.to_bytes(4, "big")).digest() for i in range(SPEECH_BYTES // 32))
    return head + body


def transcript(operation: str, marker: str) -> str:
    """The text the upstream 'heard' in a marked upload."""
    return f"Scripted {operation} of {marker}."


def _text(operation: str, fields: Mapping[str, Any], marker: str) -> tuple[int, bytes, str]:
    text = transcript(operation, marker)
    fmt = str(fields.get("response_format") or "json")
    if fmt == "text":
        return 200, (text + "\n").encode(), "text/plain; charset=utf-8"
    if fmt == "srt":
        return 200, f"1\n00:00:00,000 --> 00:00:01,000\n{text}\n\n".encode(), "text/plain; charset=utf-8"
    if fmt == "vtt":
        return 200, f"WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n{text}\n\n".encode(), "text/vtt; charset=utf-8"
    if fmt == "verbose_json":
        language = str(fields.get("language") or "english") if operation == "transcription" else "english"
        segment = {"id": 0, "seek": 0, "start": 0.0, "end": 1.0, "text": text, "tokens": [1, 3, 5],
                   "temperature": 0.0, "avg_logprob": -0.25, "compression_ratio": 1.0, "no_speech_prob": 0.01}
        payload: dict[str, Any] = {"task": "transcribe" if operation == "transcription" else "translate",
                                   "language": language, "duration": 1.0, "text": text, "segments": [segment]}
        return 200, _json(payload), "application/json"
    return 200, _json({"text": text}), "application/json"
