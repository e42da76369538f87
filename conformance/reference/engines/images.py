"""The reference's image engine (SPEC-DECISIONS 18): tiny real PNGs made with zlib + struct.

Each image is an 8x8 RGB PNG whose colour derives from the prompt and the image's position.
``response_format`` defaults to ``url`` (the OpenAI and new-api default): the PNG goes into the
asset store and the answer carries ``{public_base}/assets/{id}``; ``b64_json`` inlines it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import zlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from conformance.reference.api_error import ApiError
from conformance.reference.engines.assets import AssetStore
from conformance.reference.faultset import FaultSet
from conformance.reference.models import MODEL_CREATED

FAULTS: dict[str, str] = {
    "images.schema": "created is a string instead of an integer.",
    "images.b64-json-image": "b64_json decodes to bytes that are not an image.",
    "images.response-format": "b64_json asked, url given (url asked is still honoured).",
    "images.url-fetchable": "the url is absolute but names an asset that does not exist (404).",
    "images.url-fetchable@relative": "the url is relative (/.../assets/<id>), not absolute.",
    "images.n": "n is ignored: always one image.",
    "images.usage-shape": "usage lacks input_tokens_details.",
}

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Side of the square images, in pixels.
IMAGE_SIDE = 8
DEFAULT_RESPONSE_FORMAT = "url"
#: Output tokens reported per image (a fixed, plausible figure).
_TOKENS_PER_IMAGE = 64
_SECONDS_PER_YEAR = 31_536_000


def generate(body: Mapping[str, Any], faults: FaultSet, *, assets: AssetStore, public_base: str) -> dict[str, Any]:
    """Answer an image generation request (already schema-validated by the app).

    Raises:
        ApiError: 400 for a prompt that is not a string, an ``n`` outside 1..10 or an unknown
            response_format.
    """
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        raise ApiError(400, "prompt must be a string", param="prompt", code="invalid_value")
    count = _count(body.get("n"), faults)
    fmt = body.get("response_format") or DEFAULT_RESPONSE_FORMAT
    if fmt not in ("url", "b64_json"):
        raise ApiError(400, f"unknown response_format {fmt!r}", param="response_format", code="invalid_value")
    if fmt == "b64_json" and faults.on("images.response-format"):
        fmt = "url"
    data = [_item(png_bytes(prompt, i), fmt, faults, assets=assets, public_base=public_base) for i in range(count)]
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode("utf-8")).digest()
    created = MODEL_CREATED + int.from_bytes(digest[:4], "big") % _SECONDS_PER_YEAR
    answer: dict[str, Any] = {
        "created": str(created) if faults.on("images.schema") else created,
        "data": data,
        "usage": _usage(prompt, count, faults),
    }
    return answer


def png_bytes(prompt: str, index: int = 0) -> bytes:
    """An 8x8 RGB PNG whose solid colour derives from ``prompt`` and ``index``."""
    colour = hashlib.sha256(f"{index}:{prompt}".encode()).digest()[:3]
    row = b"\x00" + colour * IMAGE_SIDE  # filter byte 0 (None) + RGB pixels
    header = struct.pack(">IIBBBBB", IMAGE_SIDE, IMAGE_SIDE, 8, 2, 0, 0, 0)  # 8-bit truecolour
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(row * IMAGE_SIDE))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _count(value: object, faults: FaultSet) -> int:
    if value is None:
        return 1
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 10:
        raise ApiError(400, "n must be an integer within 1..10", param="n", code="invalid_value")
    return 1 if faults.on("images.n") else value


def _item(png: bytes, fmt: str, faults: FaultSet, *, assets: AssetStore, public_base: str) -> dict[str, Any]:
    if fmt == "b64_json":
        payload = png
        if faults.on("images.b64-json-image"):
            payload = b"this is not an image: " + hashlib.sha256(png).hexdigest().encode()
        return {"b64_json": base64.b64encode(payload).decode("ascii")}
    asset_id = assets.put(png, "image/png")
    base = public_base.rstrip("/")
    if faults.on("images.url-fetchable"):
        return {"url": f"{base}/assets/missing-{asset_id}"}
    if faults.on("images.url-fetchable@relative"):
        return {"url": f"{urlsplit(base).path}/assets/{asset_id}"}
    return {"url": f"{base}/assets/{asset_id}"}


def _usage(prompt: str, count: int, faults: FaultSet) -> dict[str, Any]:
    """An ImageUsage; the text tokens are the prompt's whitespace words."""
    text_tokens = max(1, len(prompt.split()))
    output_tokens = _TOKENS_PER_IMAGE * count
    usage: dict[str, Any] = {
        "total_tokens": text_tokens + output_tokens,
        "input_tokens": text_tokens,
        "output_tokens": output_tokens,
        "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": 0},
    }
    if faults.on("images.usage-shape"):
        del usage["input_tokens_details"]
    return usage
