"""Reading and parsing request bodies for the reference gateway.

Owns the body limit (read, drain, report oversize), JSON parsing (with the faults of
malformed-JSON handling) and multipart parsing (fields plus the ``file`` upload). Decides no
status beyond parse errors: the order of checks belongs to ``conformance.reference.app``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from conformance.reference.api_error import ApiError
from conformance.reference.faultset import FaultSet
from conformance.reference.http_errors import Answer
from conformance.reference.operations import Upload
from conformance.reference.reset import ConnectionReset

#: Oversized bodies are read and dropped up to this size, so that the client (still
#: sending) reads our 413 instead of a reset connection; beyond it the connection is cut.
DRAIN_CAP = 64 * 1024 * 1024


async def read_body(request: Request, limit: int | None) -> tuple[bytes, bool]:
    """The body (at most ``limit`` bytes kept; None = no limit) and whether it was over."""
    declared = request.headers.get("content-length", "")
    if limit is not None and declared.isdigit() and int(declared) > DRAIN_CAP:
        return b"", True
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if limit is None or size <= limit:
            chunks.append(chunk)
        elif size > DRAIN_CAP:
            break
    return b"".join(chunks), limit is not None and size > limit


def media_type(headers: Headers) -> str:
    """The request's media type without parameters, lower-cased ('' when absent)."""
    return headers.get("content-type", "").split(";")[0].strip().lower()


def unsupported(headers: Headers, wanted: str) -> ApiError:
    """415 for a body of another media type than the operation takes."""
    return ApiError(
        415,
        f"Unsupported Content-Type {headers.get('content-type', '')!r}: this endpoint takes {wanted}.",
        code="unsupported_media_type",
    )


def parse_json(raw: bytes, faults: FaultSet) -> dict[str, Any]:
    """The JSON object in ``raw``; 400 when it is not JSON or not an object.

    Faults: ``errors.malformed-json`` answers 422, ``errors.no-5xx-for-client-error`` 500,
    ``errors.malformed-json@reset`` closes the connection without answering.
    """
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are both ValueError
        if faults.on("errors.malformed-json@reset"):
            raise Answer(ConnectionReset()) from exc
        if faults.on("errors.no-5xx-for-client-error"):
            raise ApiError(500, "Internal server error.", "server_error") from exc
        status = 422 if faults.on("errors.malformed-json") else 400
        raise ApiError(status, f"We could not parse the JSON body of your request: {exc}", code="invalid_json") from exc
    if not isinstance(body, dict):
        raise ApiError(400, f"The request body must be a JSON object, got {type(body).__name__}.", code="invalid_type")
    return body


async def parse_multipart(headers: Headers, raw: bytes) -> tuple[list[tuple[str, str]], Upload | None]:
    """The text fields (in order, repeats kept) and the ``file`` part of a multipart body.

    A ``file`` sent as a plain text field still counts as the upload (its UTF-8 bytes): the
    engine judges whether that is audio.
    """
    parser = MultiPartParser(headers, _replay(raw), max_part_size=max(len(raw), 1024))
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ApiError(400, f"Malformed multipart body: {exc.message}", code="invalid_multipart") from exc
    texts: list[tuple[str, str]] = []
    upload: Upload | None = None
    try:
        for name, value in form.multi_items():
            if isinstance(value, str):
                if name == "file":
                    upload = Upload("file", value.encode("utf-8"), "application/octet-stream")
                else:
                    texts.append((name, value))
            elif name == "file":
                content = await value.read()
                upload = Upload(value.filename or "file", content, value.content_type or "application/octet-stream")
    finally:
        await form.close()
    return texts, upload


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


async def _replay(raw: bytes) -> AsyncGenerator[bytes, None]:
    yield raw
