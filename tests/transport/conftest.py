"""Fixtures of the transport tests: one hostile server per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.hostile_server import HostileServer


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    """A hostile server shared by the tests of one module (each test uses its own paths)."""
    with HostileServer() as hostile:
        yield hostile
