"""The join of logs to calls without a request id: token (the key's logs), model and time window (D101)."""

from __future__ import annotations

from conformance.checks import platform as p

LOG = {"model_name": "m", "prompt_tokens": 2, "completion_tokens": 5, "type": 2, "created_at": 1000}


def test_without_a_request_id_the_log_is_joined_by_model_and_time_window() -> None:
    call = p.RelayCall(None, "m", 2, 5, sent_at=1000.4, answered_at=1000.9)
    assert p.check_logs_cover_calls([LOG], [call]) == []
    assert p.check_logs_cover_calls([{**LOG, "model_name": "other"}], [call])
    assert p.check_logs_cover_calls([{**LOG, "type": 1}], [call])
    assert p.check_logs_cover_calls([{**LOG, "created_at": 900}], [call])      # an older call's log
    assert p.check_logs_cover_calls([{**LOG, "created_at": 1000 + 60}], [call])
    assert p.check_logs_cover_calls([{**LOG, "created_at": "soon"}], [call])
    assert p.check_logs_cover_calls([{**LOG, "completion_tokens": 6}], [call])


def test_one_log_stands_for_one_call_only() -> None:
    calls = [p.RelayCall(None, "m", 2, 5, sent_at=1000.0), p.RelayCall(None, "m", 2, 5, sent_at=1001.0)]
    assert p.check_logs_cover_calls([LOG], calls)
    assert p.check_logs_cover_calls([LOG, {**LOG, "created_at": 1001}], calls) == []


def test_a_request_id_wins_over_the_window() -> None:
    call = p.RelayCall("r1", "m", 2, 5, sent_at=1000.0)
    assert p.check_logs_cover_calls([{**LOG, "request_id": "r1", "created_at": 5}], [call]) == []
    assert p.check_logs_cover_calls([{**LOG, "request_id": "r2"}], [call])
