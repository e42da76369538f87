"""Unit tests of conformance.checks.platform on canned management answers."""

from __future__ import annotations

import json
from typing import Any

from conformance.checks import platform as p
from conformance.model import Exchange


def _ex(status: int, body: Any, method: str = "GET", url: str = "http://gw/api/x") -> Exchange:
    return Exchange(method, url, {}, None, status, {"content-type": "application/json"}, json.dumps(body).encode())


def test_success_envelope() -> None:
    assert p.check_success(_ex(200, {"success": True, "message": "", "data": {}})) == []
    assert p.check_success(_ex(200, {"success": False, "message": "no"}))
    assert p.check_success(_ex(500, {"success": True}))
    assert "platform.envelope" in p.check_success(_ex(200, {"success": True})).judged


def test_business_failure() -> None:
    assert p.check_business_failure(_ex(200, {"success": False, "message": "Token not found."})) == []
    assert p.check_business_failure(_ex(404, {"message": "not found"}))
    assert p.check_business_failure(_ex(200, {"success": False, "message": ""}))


def test_auth_refused_names_its_requirement() -> None:
    found = p.check_auth_refused(_ex(200, {"success": True}), requirement="platform.relay-key-refused")
    assert [v.requirement for v in found] == ["platform.relay-key-refused"]
    refused = _ex(401, {"success": False, "message": "x"})
    assert p.check_auth_refused(refused, requirement="platform.relay-key-refused") == []


def test_objects_against_schemas() -> None:
    assert p.check_objects([{"id": 1, "status": 1}], "Token", where="/api/token/") == []
    assert p.check_objects([{"id": 1, "status": "enabled"}], "Token", where="/api/token/")


def test_page_and_disjoint_pages() -> None:
    page = {"page": 1, "page_size": 1, "total": 2, "items": [{"id": 2}]}
    assert p.check_page(page, page=1, page_size=1, where="w") == []
    assert p.check_page({**page, "items": [{"id": 2}, {"id": 1}]}, page=1, page_size=1, where="w")
    assert p.check_page([{"id": 1}], page=1, page_size=1, where="w")
    assert p.check_pages_disjoint([{"id": 2}], [{"id": 1}], 2, where="w") == []
    assert p.check_pages_disjoint([{"id": 2}], [{"id": 2}], 2, where="w")


def test_token_usage() -> None:
    good = _ex(200, {"code": True, "message": "ok", "data": {"total_used": 14}})
    assert p.check_token_usage(good, at_least=1) == []
    assert p.check_token_usage(_ex(401, {"success": False}), at_least=1)
    assert p.check_token_usage(_ex(200, {"code": True, "data": {"total_used": 0}}), at_least=1)


def test_logs_cover_calls() -> None:
    call = p.RelayCall("r1", "ref-chat", 2, 5)
    log = {"request_id": "r1", "model_name": "ref-chat", "prompt_tokens": 2, "completion_tokens": 5, "type": 2}
    assert p.check_logs_cover_calls([log], [call]) == []
    assert p.check_logs_cover_calls([], [call])
    assert p.check_logs_cover_calls([{**log, "completion_tokens": 6}], [call])


def test_quota_and_failed_call() -> None:
    logs = [{"request_id": "a", "quota": 7}, {"request_id": "b", "quota": 3}, {"request_id": "c", "quota": 100}]
    assert p.check_quota_adds_up(logs, {"a", "b"}, 10, 20) == []
    assert p.check_quota_adds_up(logs, {"a", "b"}, 10, 10)
    # A call without its log is platform.logs.calls' deviation: the sum is not judged (D26).
    missing = p.check_quota_adds_up(logs, {"a", "z"}, 10, 10)
    assert missing == [] and "platform.quota.adds-up" not in missing.judged
    assert p.check_failed_call_free(5, 5) == []
    assert p.check_failed_call_free(5, 12)


def test_isolation() -> None:
    refused = _ex(200, {"success": False, "message": "Token not found."})
    assert p.check_isolation([{"id": 9}], [], {1}, {"r1"}, refused) == []
    assert p.check_isolation([{"id": 1}], [], {1}, {"r1"}, refused)
    assert p.check_isolation([], [{"request_id": "r1"}], {1}, {"r1"}, refused)
    assert p.check_isolation([], [], {1}, {"r1"}, _ex(200, {"success": True, "data": {"id": 1}}))


def test_relay_refused_and_redemption() -> None:
    assert p.check_relay_refused(_ex(401, {}), (401,), requirement="platform.token.disable") == []
    assert p.check_relay_refused(_ex(200, {}), (401,), requirement="platform.token.disable")
    ok, again = _ex(200, {"success": True, "data": 10}), _ex(200, {"success": False, "message": "used"})
    assert p.check_redemption(ok, again, 10, 0, 10) == []
    assert p.check_redemption(ok, ok, 10, 0, 10)
    assert p.check_redemption(ok, again, 10, 0, 20)


def test_channel_lifecycle() -> None:
    ok = _ex(200, {"success": True, "message": ""})
    call = _ex(200, {"id": "chatcmpl-1"}, "POST", "http://gw/v1/chat/completions")
    assert p.check_channel_lifecycle(True, ok, ok, False, (call, 1)) == []
    # How the call was relayed is the relay lane's: a refused answer or two upstream requests pass here.
    assert p.check_channel_lifecycle(True, ok, ok, False, (_ex(502, {}, "POST"), 2)) == []
    unrouted = p.check_channel_lifecycle(True, ok, ok, False, (_ex(404, {}, "POST"), 0))
    assert [(v.requirement, v.actual) for v in unrouted] == [("platform.channel.lifecycle", "404, no upstream request")]
    failed = p.check_channel_lifecycle(False, _ex(200, {"success": False, "message": "x"}), ok, True)
    assert len(failed) == 3 and {v.requirement for v in failed} == {"platform.channel.lifecycle"}
