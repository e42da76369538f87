"""The run ledger: operations, billable counts, the budget, the deadline and the breakers."""

from __future__ import annotations

import time
from pathlib import Path

from conformance.ledger import BILLABLE, Ledger, OperationKey, billable_count, operation_of


def test_operation_names_template_the_path_ids() -> None:
    assert operation_of("post", "/chat/completions") == "POST /chat/completions"
    assert operation_of("GET", "/models/ref-chat?x=1") == "GET /models/{model}"
    assert operation_of("GET", "/video/generations/task_1") == "GET /video/generations/{task_id}"


def test_billable_counts_only_generation_calls() -> None:
    counts = {"POST /chat/completions": 3, "POST /audio/speech": 2, "GET /models": 5, "POST /embeddings": 4}
    assert billable_count(counts) == 5
    assert "POST /video/generations" in BILLABLE and "POST /responses" in BILLABLE


def test_take_refuses_past_the_budget_and_the_deadline(tmp_path: Path) -> None:
    ledger = Ledger.create(tmp_path, max_requests=2, deadline=None)
    assert [ledger.take("GET /models") for _ in range(3)] == [None, None, "budget"]
    assert ledger.spent() and ledger.remaining() == 0
    late = Ledger.memory(max_requests=5, deadline=time.time() - 0.1)
    assert late.past_deadline() and late.take("GET /models") == "deadline"


def test_breaker_opens_after_two_consecutive_troubles_and_stays_open(tmp_path: Path) -> None:
    ledger = Ledger.create(tmp_path, max_requests=10, deadline=None)
    other = Ledger.open(tmp_path / Ledger.FILE)    # another worker's view
    key = OperationKey("POST /chat/completions", True)
    ledger.outcome(key, "stalled")
    ledger.outcome(key, None)
    ledger.outcome(key, "stalled after 2 s")
    assert other.breaker_open(key) is None
    other.outcome(key, "deadline after 60 s")
    reason = ledger.breaker_open(key)
    assert reason is not None and "POST /chat/completions (streamed)" in reason
    assert "stalled after 2 s; deadline after 60 s" in reason
    ledger.outcome(key, None)                       # an open breaker stays open for the run
    assert ledger.breaker_open(key) is not None
    assert ledger.breaker_open(OperationKey("POST /chat/completions", False)) is None
