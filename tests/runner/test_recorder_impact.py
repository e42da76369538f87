"""The recorder replays each exchange behind a violation once and carries its client impact."""

from __future__ import annotations

import json

from conformance.model import Exchange, Violation
from conformance.recorder import VerdictRecorder
from conformance.requirements import load_catalogue

REQUEST = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def test_violations_with_an_exchange_carry_the_sdk_outcome() -> None:
    recorder = VerdictRecorder(load_catalogue(), ["chat.response.schema", "chat.response.usage-total"])
    exchange = Exchange(
        "POST",
        "http://gw.test/v1/chat/completions",
        {"content-type": "application/json"},
        json.dumps(REQUEST).encode(),
        200,
        {"content-type": "application/json"},
        b"<html>not json</html>",
    )
    recorder.check([Violation("chat.response.schema", "a chat.completion", "not JSON")], exchange)
    recorder.check([Violation("chat.response.usage-total", "a sum", "no usage")], exchange)
    recorder.check([Violation("chat.response.usage-total", "a sum", "no exchange")])
    first, second, third = recorder.records()
    assert first.client_impact is not None
    assert first.client_impact.startswith("openai-python 3.51.0: raises JSONDecodeError")
    assert second.client_impact == first.client_impact  # one replay per exchange
    assert third.client_impact is None
    assert recorder.impact_lines()[0].startswith("chat.response.schema: openai-python")
