"""Key echo (security, every target): no error answer repeats a presented API key in full.

One unknown key, fresh for the run, is presented on every operation; whatever the target
answers (401 expected), the error body and headers must not carry the whole key.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pytest

from conformance.checks.key_echo import check_key_not_echoed
from conformance.suites.operations import OPERATIONS, Operation, minimal_request

if TYPE_CHECKING:
    from conformance.config import Settings
    from conformance.recorder import VerdictRecorder
    from conformance.transport import Transport

#: A well-formed key no target has issued, unique to this run (a fixed one could be allow-listed).
ECHO_KEY = "sk-nxc-echo-" + secrets.token_hex(16)


@pytest.mark.requirements("auth.key-not-echoed")
@pytest.mark.parametrize(
    "op", [pytest.param(op, id=op.operation_id, marks=pytest.mark.feature("auth", op.feature)) for op in OPERATIONS])
def test_key_not_echoed(op: Operation, transport: Transport, models: Mapping[str, str], settings: Settings,
                        verdict: VerdictRecorder) -> None:
    """An unknown key's error answer shows the key masked or not at all."""
    ex = minimal_request(op, models, settings).send(transport, key=ECHO_KEY, retry_429=False)
    verdict.check(check_key_not_echoed(ex, ECHO_KEY), exchange=ex)
