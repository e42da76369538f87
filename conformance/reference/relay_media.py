"""Relay of the media operations: images, speech, and transcriptions and translations (multipart).

Owns the media relay faults (``MEDIA_FAULTS``, joined to the relay's ``FAULTS``), the
outbound multipart form of a transcription or translation (``outbound_form``: every text
field and the uploaded file's bytes, filename and content type, the model mapped), the
faults' changes to a JSON media request (``outbound_media``) and the relay of a non-JSON
answer (``binary_answer``: speech audio and text transcripts, byte for byte). ``relay``
sends and maps errors; this module only shapes what is sent and answered.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any, Final

from starlette.responses import Response

from conformance.reference.faultset import FaultSet
from conformance.reference.operations import Upload

#: The relay's media paths (spec paths, below ``/v1``).
MEDIA_RELAYED: Final[frozenset[str]] = frozenset(
    {"/images/generations", "/audio/speech", "/audio/transcriptions", "/audio/translations"})
#: The media paths whose request is multipart (re-sent as multipart with the same parts).
FORM_RELAYED: Final[frozenset[str]] = frozenset({"/audio/transcriptions", "/audio/translations"})

MEDIA_FAULTS: Final[dict[str, str]] = {
    "relay.forwarding.images": "images: size is dropped on the way upstream",
    "relay.forwarding.speech": "speech: the voice is replaced by the gateway's default (alloy)",
    "relay.answer.speech": "speech: the upstream's audio is truncated to its first half",
    "relay.forwarding.transcription": "transcriptions: the uploaded file is re-encoded (its RIFF LIST chunks "
                                      "stripped)",
    "relay.forwarding.translation": "translations: the prompt field is dropped on the way upstream",
}

#: A multipart file for httpx: (filename, content, content type).
FilePart = tuple[str, bytes, str]


def outbound_media(path: str, body: dict[str, Any], faults: FaultSet) -> dict[str, Any]:
    """A JSON media request (images, speech) as the relay sends it (the model already mapped)."""
    outbound = dict(body)
    if path == "/images/generations" and faults.on("relay.forwarding.images"):
        outbound.pop("size", None)
    if path == "/audio/speech" and faults.on("relay.forwarding.speech") and "voice" in outbound:
        outbound["voice"] = "alloy"
    return outbound


def outbound_form(path: str, fields: Mapping[str, str], upload: Upload | None, model: str,
                  faults: FaultSet) -> tuple[dict[str, str], dict[str, FilePart]]:
    """The text fields (the model mapped) and file part a multipart request is re-sent with."""
    data = {**fields, "model": model}
    if path == "/audio/translations" and faults.on("relay.forwarding.translation"):
        data.pop("prompt", None)
    files: dict[str, FilePart] = {}
    if upload is not None:
        content = upload.content
        if path == "/audio/transcriptions" and faults.on("relay.forwarding.transcription"):
            content = strip_riff_lists(content)
        files["file"] = (upload.filename, content, upload.content_type)
    return data, files


def strip_riff_lists(data: bytes) -> bytes:
    """A RIFF file without its ``LIST`` chunks (the metadata a re-encoding loses); other bytes as they are."""
    if len(data) < 12 or data[:4] != b"RIFF":
        return data
    kept, at = [data[8:12]], 12
    while at + 8 <= len(data):
        size = struct.unpack("<I", data[at + 4:at + 8])[0]
        end = min(at + 8 + size + (size & 1), len(data))
        if data[at:at + 4] != b"LIST":
            kept.append(data[at:end])
        at = end
    body = b"".join(kept)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def binary_answer(path: str, content: bytes, content_type: str, faults: FaultSet) -> Response:
    """A non-JSON 200 answer (speech audio, a text transcript) relayed with its content type."""
    if path == "/audio/speech" and faults.on("relay.answer.speech"):
        content = content[:len(content) // 2]
    return Response(content, 200, media_type=content_type or "application/octet-stream")
