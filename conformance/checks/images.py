"""Checks for POST /images/generations (SPEC-DECISIONS §18, catalogue images.*).

Owns the image answer: base64 that decodes to a real PNG/JPEG/WebP, the requested
response_format honoured, absolute URLs whose bytes are an image, n, and the optional usage.
Imports conformance.model and conformance.spec only; fetching a URL is the suite's job.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import urlsplit

from conformance import spec
from conformance.checks._common import schema_violations
from conformance.checks._judged import judges
from conformance.model import Exchange, Violation, truncate

_OWNED = (re.compile(r"^/usage(/|$)"),)


def image_kind(data: bytes) -> str | None:
    """"png", "jpeg" or "webp" from the file signature, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _data(body: Any) -> list[Any]:
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, list) else []


@judges("images.schema")
def check_images_schema(body: Any) -> list[Violation]:
    """The answer validates against ImageGenerationResponse (usage is judged on its own)."""
    return schema_violations(body, "ImageGenerationResponse", "images.schema", _OWNED)


@judges("images.response-format")
def check_response_format(body: Any, response_format: str) -> list[Violation]:
    """Every item carries the requested form (``url`` or ``b64_json``) as a non-empty string."""
    return [
        Violation("images.response-format", f"a non-empty {response_format!r}", truncate(item),
                  f"/data/{i}/{response_format}")
        for i, item in enumerate(_data(body))
        if not (isinstance(item, dict) and isinstance(item.get(response_format), str) and item[response_format])
    ]


@judges("images.b64-json-image")
def check_b64_images(body: Any) -> list[Violation]:
    """Every ``b64_json`` decodes to PNG, JPEG or WebP bytes."""
    found = []
    for i, item in enumerate(_data(body)):
        text = item.get("b64_json") if isinstance(item, dict) else None
        if not isinstance(text, str) or not text:
            continue  # a missing field is images.response-format
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            found.append(Violation("images.b64-json-image", "valid base64", truncate(text, 80), f"/data/{i}/b64_json"))
            continue
        if image_kind(raw) is None:
            found.append(Violation("images.b64-json-image", "PNG, JPEG or WebP bytes", truncate(raw[:16].hex()),
                                   f"/data/{i}/b64_json"))
    return found


def image_urls(body: Any) -> list[tuple[int, str]]:
    """(position, url) of every item carrying a non-empty string url."""
    return [
        (i, item["url"])
        for i, item in enumerate(_data(body))
        if isinstance(item, dict) and isinstance(item.get("url"), str) and item["url"]
    ]


@judges("images.url-fetchable")
def check_absolute_urls(body: Any) -> list[Violation]:
    """Every url is absolute (http or https with a host)."""
    found = []
    for i, url in image_urls(body):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            found.append(Violation("images.url-fetchable", "an absolute http(s) URL", truncate(url), f"/data/{i}/url"))
    return found


@judges("images.url-fetchable")
def check_fetched_image(exchange: Exchange, *, where: str) -> list[Violation]:
    """A fetched image URL answered 200 with PNG, JPEG or WebP bytes."""
    if exchange.status != 200:
        return [Violation("images.url-fetchable", "200 when fetching the url", truncate(exchange.status), where)]
    if image_kind(exchange.body) is None:
        return [Violation("images.url-fetchable", "PNG, JPEG or WebP bytes at the url",
                          truncate(exchange.body[:16].hex()), where)]
    return []


@judges("images.n")
def check_image_count(body: Any, n: int) -> list[Violation]:
    """The answer carries ``n`` images."""
    count = len(_data(body))
    return [] if count == n else [Violation("images.n", f"{n} images", str(count), "/data")]


@judges("images.usage-shape")
def check_image_usage(body: Any) -> list[Violation]:
    """usage, when present, is an ImageUsage (with input_tokens_details)."""
    if not isinstance(body, dict) or body.get("usage") is None:
        return []
    return spec.validate(body["usage"], "ImageUsage", requirement="images.usage-shape", where="/usage")
