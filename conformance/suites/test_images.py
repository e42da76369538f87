"""Scenarios for POST /images/generations (SPEC-DECISIONS §18; catalogue images.*).

Images are the costliest requests of the run: three requests, four images, default size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pytest

from conformance.checks.errors import (
    SERVED_IDS,
    check_envelope_part_of,
    check_status,
)
from conformance.checks.images import (
    check_absolute_urls,
    check_b64_images,
    check_fetched_image,
    check_image_count,
    check_image_usage,
    check_images_schema,
    check_response_format,
    image_urls,
)
from conformance.model import Exchange
from conformance.suites.answers import served_json

if TYPE_CHECKING:
    from conformance.recorder import VerdictRecorder
    from conformance.transport import Transport

SHAPE_IDS = ("images.schema", "images.response-format", "images.usage-shape")
PROMPT = "A small red circle on a white background."


def _answer(verdict: VerdictRecorder, ex: Exchange, requirement: str, response_format: str) -> Any:
    """The decoded answer of a served request after the shape checks, or None."""
    served = served_json(verdict, ex, requirement, schema="images.schema")
    if served is None:
        return None
    body = served.body
    verdict.check(check_images_schema(body), exchange=ex)
    verdict.check(check_response_format(body, response_format), exchange=ex)
    verdict.check(check_image_usage(body), exchange=ex)
    return body


def _generate(transport: Transport, models: Mapping[str, str], response_format: str, n: int = 1) -> Exchange:
    body = {"model": models["images"], "prompt": PROMPT, "n": n, "response_format": response_format}
    return transport.request("POST", "/images/generations", json=body)


@pytest.mark.feature("images")
@pytest.mark.requirements("images.b64-json-image", "images.n", *SHAPE_IDS, *SERVED_IDS)
@pytest.mark.about_parameter("response_format", capability="images")
def test_images_b64_json(transport: Transport, models: Mapping[str, str], verdict: VerdictRecorder) -> None:
    """response_format b64_json: one image whose base64 decodes to PNG, JPEG or WebP."""
    ex = _generate(transport, models, "b64_json")
    body = _answer(verdict, ex, "images.response-format", "b64_json")
    if body is not None:
        verdict.check(check_image_count(body, 1), exchange=ex)
        verdict.check(check_b64_images(body), exchange=ex)


@pytest.mark.feature("images", "images.url")
@pytest.mark.requirements("images.url-fetchable", *SHAPE_IDS, *SERVED_IDS)
@pytest.mark.about_parameter("response_format", capability="images")
def test_images_url(transport: Transport, models: Mapping[str, str], verdict: VerdictRecorder) -> None:
    """response_format url: an absolute URL that fetches as an image."""
    ex = _generate(transport, models, "url")
    body = _answer(verdict, ex, "images.response-format", "url")
    if body is None or not verdict.check(check_absolute_urls(body), exchange=ex):
        return
    for position, url in image_urls(body):
        fetched = transport.fetch(url)
        verdict.check(check_fetched_image(fetched, where=f"/data/{position}/url"), exchange=fetched)


@pytest.mark.feature("images")
@pytest.mark.requirements("images.n", *SHAPE_IDS, *SERVED_IDS)
def test_images_n(transport: Transport, models: Mapping[str, str], verdict: VerdictRecorder) -> None:
    """n = 2 gives two images; a model that only makes one may refuse with 400 and the envelope."""
    ex = _generate(transport, models, "b64_json", n=2)
    if ex.status is not None and 400 <= ex.status < 500:
        # A refusal is judged as this requirement's alternative ("400 with the envelope"), so
        # the test declares only ids it judges whichever way the target answers.
        refused = check_status(ex, (400,), requirement="images.n")
        verdict.check(refused or check_envelope_part_of(ex, requirement="images.n"), exchange=ex)
        return
    body = _answer(verdict, ex, "images.n", "b64_json")
    if body is not None:
        verdict.check(check_image_count(body, 2), exchange=ex)
