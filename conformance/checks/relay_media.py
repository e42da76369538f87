"""Checks of the relayed media operations: multipart forms and files, and binary or text answers.

Owns what ``checks.relay`` cannot judge on JSON alone: the text fields of a multipart request
(``check_form_forwarded``), the uploaded file (``check_file_forwarded``: bytes compared by
sha256 and length, filename kept, content type kept or sent as the generic
``application/octet-stream``, D111) and a non-JSON answer relayed byte for byte
(``check_media_answer``: speech audio, a text transcript; a JSON answer is compared as JSON).
Pure: the suite hands in plain bytes, strings and mappings; evidence never shows binary
(``<binary N bytes, type, sha256>``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from conformance.checks._judged import judges
from conformance.model import Violation, binary_placeholder, is_binary, truncate

#: The content type a gateway that re-builds the multipart form may give the file (D111).
GENERIC_FILE_TYPE: Final[str] = "application/octet-stream"


@dataclass(frozen=True)
class FilePart:
    """An uploaded file: what the client sent or what the upstream received."""

    filename: str
    content_type: str
    content: bytes

    def shown(self) -> str:
        """The binary-safe rendering: length, type and sha256 (evidence never shows the bytes)."""
        return binary_placeholder(self.content, self.content_type)


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type, lower case, without parameters."""
    return (content_type or "").split(";")[0].strip().lower()


@judges(param="requirement")
def check_form_forwarded(sent: Mapping[str, str], received: Mapping[str, str] | None, *,
                         requirement: str) -> list[Violation]:
    """Every text field of the client's form reached the upstream with the same value (model mapped).

    Args:
        sent: the client's text fields (the file part excluded).
        received: the upstream's text fields, None when it received no multipart form.
        requirement: the forwarding requirement of the operation.
    """
    if received is None:
        return [Violation(requirement, "a multipart form upstream", "no multipart form (or no upstream record)",
                          "upstream body")]
    found = []
    for name, value in sent.items():
        if name == "model":
            continue                        # the declared model mapping (D41)
        if received.get(name) != value:
            actual = truncate(received[name], 120) if name in received else "<absent>"
            found.append(Violation(requirement, f"{name} = {truncate(value, 120)} upstream", actual,
                                   f"upstream form field {name}"))
    return found


@judges(param="requirement")
def check_file_forwarded(sent: FilePart, received: FilePart | None, *, requirement: str) -> list[Violation]:
    """The uploaded file reached the upstream byte for byte, with its filename and its content
    type (or ``application/octet-stream``, the allowed rewrite of D111)."""
    if received is None:
        return [Violation(requirement, f"the file {sent.shown()} upstream", "no file part upstream",
                          "upstream form file")]
    found = []
    if received.content != sent.content:
        found.append(Violation(requirement, f"the same bytes: {sent.shown()}", received.shown(),
                               "upstream form file bytes"))
    if received.filename != sent.filename:
        found.append(Violation(requirement, f"filename {sent.filename!r}", truncate(received.filename, 120),
                               "upstream form file filename"))
    kept = media_type(received.content_type)
    if kept not in (media_type(sent.content_type), GENERIC_FILE_TYPE):
        found.append(Violation(requirement, f"content type {media_type(sent.content_type)} (or {GENERIC_FILE_TYPE})",
                               truncate(received.content_type, 120), "upstream form file content type"))
    return found


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _shown(body: bytes, content_type: str) -> str:
    if is_binary(body, content_type):
        return binary_placeholder(body, content_type)
    return truncate(body.decode("utf-8", errors="replace"), 160)


@judges(param="requirement")
def check_media_answer(upstream: bytes | None, upstream_type: str, client: bytes, client_type: str | None, *,
                       requirement: str) -> list[Violation]:
    """The upstream's 200 answer reached the client unchanged: a JSON answer equal as JSON (but
    ``model`` and ``usage``, D43), any other byte for byte with the same media type.

    Args:
        upstream: the upstream's answer body, None when no upstream record exists.
        upstream_type: its Content-Type.
        client: the body the client got.
        client_type: the client's Content-Type (None when absent).
        requirement: the requirement this answer speaks for.
    """
    if upstream is None:
        return [Violation(requirement, "the upstream's answer", "no upstream record", "upstream records")]
    found = []
    if media_type(upstream_type) == "application/json":
        want, got = _json(upstream), _json(client)
        if isinstance(want, Mapping) and isinstance(got, Mapping):
            drop = ("model", "usage")
            want = {k: v for k, v in want.items() if k not in drop}
            got = {k: v for k, v in got.items() if k not in drop}
        if want != got:
            found.append(Violation(requirement, _shown(upstream, upstream_type), _shown(client, client_type or ""),
                                   "body"))
        return found
    if client != upstream:
        found.append(Violation(requirement, f"the upstream's bytes: {_shown(upstream, upstream_type)}",
                               _shown(client, client_type or ""), "body"))
    if media_type(client_type) != media_type(upstream_type):
        found.append(Violation(requirement, f"Content-Type {media_type(upstream_type)}",
                               client_type or "<absent>", "header Content-Type"))
    return found
