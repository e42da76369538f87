"""Fixtures for the HTTP-layer tests of the reference gateway.

``stub_server`` runs the real app (routing, auth, limits, validation against the real spec)
over real HTTP with stub engines, so these tests see the HTTP layer alone: an engine change
cannot break them and they cannot hide an engine bug. ``live_reference`` runs the whole
reference (real engines) for the end-to-end checks.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from reference_app_support import STUB_ENGINE_FAULTS, TEST_CONFIG, StubEngines, StubServer

from conformance.reference.app import create_app
from conformance.reference.config import ReferenceConfig
from conformance.reference.faults import HTTP_FAULTS
from conformance.reference.server import running_app, running_reference
from conformance.reference.validation import RequestSchemas


@pytest.fixture(scope="session")
def request_schemas() -> RequestSchemas:
    """The request schemas of the real spec (one load for the session)."""
    return RequestSchemas.from_spec()


@pytest.fixture(scope="module")
def stub_server(request_schemas: RequestSchemas) -> Iterator[StubServer]:
    """The HTTP layer over real HTTP with stub engines (one server per test module)."""
    engines = StubEngines()
    app = create_app(
        TEST_CONFIG, engines=engines, schemas=request_schemas, known_faults=[*HTTP_FAULTS, *STUB_ENGINE_FAULTS]
    )
    with running_app(app) as base_url, httpx.Client(base_url=base_url.removesuffix("/v1"), timeout=10) as client:
        yield StubServer(base_url.removesuffix("/v1"), client, engines)


@pytest.fixture(scope="module")
def live_reference() -> Iterator[str]:
    """The whole reference (real engines) on a free port; yields its base URL (…/v1)."""
    # The default 1 MiB body limit: audio uploads are bigger than TEST_CONFIG's 4 KiB.
    with running_reference(ReferenceConfig(video_polls_to_complete=1)) as base_url:
        yield base_url
