"""Auth and rate limiting of the reference HTTP layer (D3, D5), with their faults."""

from __future__ import annotations

import time

import pytest
from reference_app_support import KEY, TEST_CONFIG, StubServer, assert_envelope

_CHAT = {"model": "ref-chat", "messages": [{"role": "user", "content": "hi"}]}
_EMBED = {"model": "ref-embed", "input": "hi"}


def _chat(server: StubServer, *, faults: str = "", **kwargs: object) -> object:
    return server.request("POST", "/chat/completions", json=_CHAT, faults=faults, **kwargs)  # type: ignore[arg-type]


def test_valid_key_is_served(stub_server: StubServer) -> None:
    response = stub_server.request("POST", "/chat/completions", json=_CHAT)
    assert response.status_code == 200
    assert response.json()["object"] == "stub.chat"


def test_scheme_is_case_insensitive(stub_server: StubServer) -> None:
    response = stub_server.request("GET", "/models", headers={"Authorization": f"bearer {KEY}"})
    assert response.status_code == 200


def test_missing_key_gets_401(stub_server: StubServer) -> None:
    assert_envelope(stub_server.request("GET", "/models", key=None), 401, "missing_api_key")


@pytest.mark.parametrize("value", ["", "Basic abc", "Bearer", f"Bearer {KEY} extra", f"Bearer  {KEY}", f"Token {KEY}"])
def test_malformed_header_gets_401(stub_server: StubServer, value: str) -> None:
    response = stub_server.request("GET", "/models", headers={"Authorization": value})
    assert_envelope(response, 401, "invalid_authorization_header")


def test_unknown_key_gets_401_invalid_api_key(stub_server: StubServer) -> None:
    assert_envelope(stub_server.request("GET", "/models", key="sk-unknown"), 401, "invalid_api_key")


@pytest.mark.parametrize(
    ("key", "status", "code"),
    [
        (TEST_CONFIG.disabled_key, 401, "api_key_disabled"),
        (TEST_CONFIG.expired_key, 401, "api_key_expired"),
        (TEST_CONFIG.exhausted_key, 429, "insufficient_quota"),
    ],
)
def test_key_states(stub_server: StubServer, key: str, status: int, code: str) -> None:
    for path, body in (("/chat/completions", _CHAT), ("/embeddings", _EMBED)):
        assert_envelope(stub_server.request("POST", path, json=body, key=key), status, code)
    assert_envelope(stub_server.request("GET", "/models", key=key), status, code)


def test_auth_comes_before_validation(stub_server: StubServer) -> None:
    response = stub_server.request("POST", "/chat/completions", json={"model": 5}, key="sk-unknown")
    assert_envelope(response, 401, "invalid_api_key")


def test_model_restricted_key(stub_server: StubServer) -> None:
    key = TEST_CONFIG.model_restricted_key
    error = assert_envelope(
        stub_server.request("POST", "/chat/completions", json=_CHAT, key=key), 403, "model_not_allowed"
    )
    assert error["param"] == "model"
    assert stub_server.request("POST", "/embeddings", json=_EMBED, key=key).status_code == 200
    assert stub_server.request("GET", "/models", key=key).status_code == 200


def test_rate_limited_key_limits_then_recovers(stub_server: StubServer) -> None:
    key = TEST_CONFIG.rate_limited_key
    statuses = [
        stub_server.request("GET", "/models", key=key).status_code for _ in range(TEST_CONFIG.rate_limit_requests)
    ]
    assert statuses == [200] * TEST_CONFIG.rate_limit_requests
    refused = stub_server.request("GET", "/models", key=key)
    assert_envelope(refused, 429, "rate_limit_exceeded")
    wait = int(refused.headers["retry-after"])
    assert wait == 1  # a 0.5 s window rounds up to one whole second
    time.sleep(TEST_CONFIG.rate_limit_window_seconds + 0.05)
    assert stub_server.request("GET", "/models", key=key).status_code == 200


def test_normal_key_is_never_rate_limited(stub_server: StubServer) -> None:
    for _ in range(TEST_CONFIG.rate_limit_requests * 3):
        assert stub_server.request("GET", "/models").status_code == 200


# --------------------------------------------------------------------------- faults


def test_fault_auth_missing_key(stub_server: StubServer) -> None:
    assert stub_server.request("GET", "/models", key=None, faults="auth.missing-key").status_code == 200


def test_fault_auth_malformed_header(stub_server: StubServer) -> None:
    response = stub_server.request(
        "GET", "/models", headers={"Authorization": "Basic x"}, faults="auth.malformed-header"
    )
    assert_envelope(response, 400)


def test_fault_auth_unknown_key(stub_server: StubServer) -> None:
    assert_envelope(stub_server.request("GET", "/models", key="sk-unknown", faults="auth.unknown-key"), 403)
    assert_envelope(stub_server.request("GET", "/models", key="sk-unknown", faults="auth.unknown-key@500"), 500)


def test_fault_auth_unknown_key_code(stub_server: StubServer) -> None:
    response = stub_server.request("GET", "/models", key="sk-unknown", faults="auth.unknown-key-code")
    assert assert_envelope(response, 401)["code"] is None


@pytest.mark.parametrize(
    ("fault", "key"),
    [
        ("auth.disabled-key", TEST_CONFIG.disabled_key),
        ("auth.expired-key", TEST_CONFIG.expired_key),
        ("auth.exhausted-key", TEST_CONFIG.exhausted_key),
    ],
)
def test_fault_key_state_served(stub_server: StubServer, fault: str, key: str) -> None:
    assert stub_server.request("POST", "/chat/completions", json=_CHAT, key=key, faults=fault).status_code == 200


def test_fault_auth_exhausted_key_code(stub_server: StubServer) -> None:
    response = stub_server.request("GET", "/models", key=TEST_CONFIG.exhausted_key, faults="auth.exhausted-key-code")
    assert assert_envelope(response, 429)["code"] == "quota_exceeded"


def test_fault_auth_model_restricted(stub_server: StubServer) -> None:
    response = stub_server.request(
        "POST", "/chat/completions", json=_CHAT, key=TEST_CONFIG.model_restricted_key, faults="auth.model-restricted"
    )
    assert response.status_code == 200


def test_fault_auth_valid_key_refuses_unknown_video_tasks_only(stub_server: StubServer) -> None:
    fault = "auth.valid-key"
    assert_envelope(stub_server.request("GET", "/video/generations/nope", faults=fault), 403, "access_denied")
    assert stub_server.request("GET", "/video/generations/task-1", faults=fault).status_code == 200
    assert stub_server.request("POST", "/chat/completions", json=_CHAT, faults=fault).status_code == 200
    assert_envelope(stub_server.request("GET", "/video/generations/nope"), 404)


def _burst(server: StubServer, faults: str, count: int) -> list[int]:
    key = TEST_CONFIG.rate_limited_key
    return [server.request("GET", "/models", key=key, faults=faults).status_code for _ in range(count)]


def test_fault_errors_rate_limited(stub_server: StubServer) -> None:
    assert _burst(stub_server, "errors.rate-limited", TEST_CONFIG.rate_limit_requests * 3) == [200] * 9


def test_fault_errors_rate_limit_retry_after(stub_server: StubServer) -> None:
    _burst(stub_server, "errors.rate-limit-retry-after", TEST_CONFIG.rate_limit_requests)
    response = stub_server.request(
        "GET", "/models", key=TEST_CONFIG.rate_limited_key, faults="errors.rate-limit-retry-after"
    )
    assert_envelope(response, 429)
    assert "retry-after" not in response.headers


def test_fault_errors_rate_limit_recovers(stub_server: StubServer) -> None:
    fault = "errors.rate-limit-recovers"
    assert _burst(stub_server, fault, TEST_CONFIG.rate_limit_requests + 1)[-1] == 429
    time.sleep(TEST_CONFIG.rate_limit_window_seconds + 0.05)
    response = stub_server.request("GET", "/models", key=TEST_CONFIG.rate_limited_key, faults=fault)
    assert_envelope(response, 429)
    assert response.headers["retry-after"] == "1"
