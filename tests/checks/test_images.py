"""Unit tests of conformance.checks.images on canned answers."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from conformance.checks import images as im
from conformance.model import Exchange, Violation

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8
USAGE = {"input_tokens": 5, "output_tokens": 100, "total_tokens": 105,
         "input_tokens_details": {"text_tokens": 5, "image_tokens": 0}}


def pairs(violations: list[Violation]) -> list[tuple[str, str | None]]:
    return [(v.requirement, v.where) for v in violations]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def answer(*items: dict[str, Any], **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"created": 1700000000, "data": list(items)}
    body.update(over)
    return body


def fetched(status: int, body: bytes) -> Exchange:
    return Exchange("GET", "http://x/assets/1", {}, None, status, {"content-type": "image/png"}, body)


@pytest.mark.parametrize(("data", "kind"), [(PNG, "png"), (JPEG, "jpeg"), (WEBP, "webp"), (b"GIF89a", None)])
def test_image_kind(data: bytes, kind: str | None) -> None:
    assert im.image_kind(data) == kind


def test_schema() -> None:
    assert im.check_images_schema(answer({"b64_json": b64(PNG)}, usage=USAGE)) == []
    assert pairs(im.check_images_schema(answer({"b64_json": b64(PNG)}, created="now"))) == [
        ("images.schema", "/created")]
    assert im.check_images_schema(answer({"b64_json": b64(PNG)}, usage={"total": 1})) == []  # usage-shape's


def test_response_format() -> None:
    assert im.check_response_format(answer({"b64_json": b64(PNG), "url": ""}), "b64_json") == []
    assert im.check_response_format(answer({"url": "https://x/a.png"}), "url") == []
    assert pairs(im.check_response_format(answer({"url": "https://x/a.png", "b64_json": ""}), "b64_json")) == [
        ("images.response-format", "/data/0/b64_json")]
    assert pairs(im.check_response_format(answer({"b64_json": b64(PNG)}), "url")) == [
        ("images.response-format", "/data/0/url")]


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([{"b64_json": b64(PNG)}, {"b64_json": b64(JPEG)}, {"b64_json": b64(WEBP)}], []),
        ([{"b64_json": b64(b"plain text")}], [("images.b64-json-image", "/data/0/b64_json")]),
        ([{"b64_json": "%%%"}], [("images.b64-json-image", "/data/0/b64_json")]),
        ([{"url": "https://x/a.png"}], []),
    ],
    ids=["png-jpeg-webp", "not-an-image", "not-base64", "no-b64"],
)
def test_b64_images(items: list[dict[str, Any]], expected: list[tuple[str, str]]) -> None:
    assert pairs(im.check_b64_images(answer(*items))) == expected


def test_urls() -> None:
    body = answer({"url": "https://cdn.example/a.png"}, {"url": "/assets/2"}, {"url": "ftp://x/y"}, {"url": ""})
    assert im.image_urls(body) == [(0, "https://cdn.example/a.png"), (1, "/assets/2"), (2, "ftp://x/y")]
    assert pairs(im.check_absolute_urls(body)) == [("images.url-fetchable", "/data/1/url"),
                                                   ("images.url-fetchable", "/data/2/url")]


def test_fetched_image() -> None:
    assert im.check_fetched_image(fetched(200, PNG), where="/data/0/url") == []
    assert pairs(im.check_fetched_image(fetched(404, b"{}"), where="/data/0/url")) == [
        ("images.url-fetchable", "/data/0/url")]
    assert pairs(im.check_fetched_image(fetched(200, b"<html>"), where="/data/1/url")) == [
        ("images.url-fetchable", "/data/1/url")]


def test_image_count() -> None:
    assert im.check_image_count(answer({"url": "a"}, {"url": "b"}), 2) == []
    assert pairs(im.check_image_count(answer({"url": "a"}), 2)) == [("images.n", "/data")]


def test_usage() -> None:
    assert im.check_image_usage(answer()) == []
    assert im.check_image_usage(answer(usage=USAGE)) == []
    bad = {k: v for k, v in USAGE.items() if k != "input_tokens_details"}
    assert pairs(im.check_image_usage(answer(usage=bad))) == [("images.usage-shape", "/usage")]
