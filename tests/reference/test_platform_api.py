"""The reference's management API and its store shared with the relay (platform_api, platform_relay)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from conformance.reference.app import create_app
from conformance.reference.config import DEFAULT_API_KEY, ReferenceConfig
from conformance.reference.platform_store import ADMIN_ACCESS_TOKEN, OTHER_ACCESS_TOKEN, USER_ACCESS_TOKEN

USER = {"Authorization": f"Bearer {USER_ACCESS_TOKEN}"}
CHAT = {"model": "ref-chat", "messages": [{"role": "user", "content": "hi"}]}


def _client() -> TestClient:
    return TestClient(create_app(ReferenceConfig()))


def _chat(client: TestClient, key: str = DEFAULT_API_KEY, model: str = "ref-chat") -> Any:
    headers = {"Authorization": f"Bearer {key}"}
    return client.post("/v1/chat/completions", json={**CHAT, "model": model}, headers=headers)


def _new_token(client: TestClient, name: str, **fields: Any) -> tuple[int, str]:
    assert client.post("/api/token/", json={"name": name, **fields}, headers=USER).json()["success"] is True
    token = next(t for t in client.get("/api/token/?page_size=100", headers=USER).json()["data"]["items"]
                 if t["name"] == name)
    key = client.post(f"/api/token/{token['id']}/key", headers=USER).json()["data"]["key"]
    return token["id"], "sk-" + key


def test_a_relay_call_writes_its_log_and_charges_its_token() -> None:
    client = _client()
    answer = _chat(client)
    usage, request_id = answer.json()["usage"], answer.headers["x-oneapi-request-id"]
    logs = client.get("/api/log/token", headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"}).json()["data"]
    assert [(x["request_id"], x["prompt_tokens"], x["completion_tokens"]) for x in logs] == [
        (request_id, usage["prompt_tokens"], usage["completion_tokens"])]
    usage_read = client.get("/api/usage/token", headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"}).json()
    assert usage_read["data"]["total_used"] == logs[0]["quota"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_token_states_act_at_once() -> None:
    client = _client()
    token_id, key = _new_token(client, "t-disable", unlimited_quota=True)
    assert _chat(client, key).status_code == 200
    client.put("/api/token/?status_only=true", json={"id": token_id, "status": 2}, headers=USER)
    assert _chat(client, key).status_code == 401
    _, limited = _new_token(client, "t-limits", unlimited_quota=True, model_limits_enabled=True, model_limits="x")
    assert _chat(client, limited).status_code == 403
    _, poor = _new_token(client, "t-poor", remain_quota=1)
    assert _chat(client, poor).status_code == 200
    assert _chat(client, poor).status_code == 429
    failed_id, failing = _new_token(client, "t-failed", unlimited_quota=True)
    assert _chat(client, failing, model="no-such-model").status_code == 404
    assert client.get(f"/api/token/{failed_id}", headers=USER).json()["data"]["used_quota"] == 0


def test_auth_envelope_and_isolation() -> None:
    client = _client()
    assert client.get("/api/user/self", headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"}).status_code == 401
    mismatch = client.get("/api/user/self", headers={**USER, "New-Api-User": "2"})
    assert mismatch.status_code == 401 and mismatch.json()["success"] is False
    assert client.get("/api/user/self", headers={**USER, "New-Api-User": "1"}).json()["data"]["id"] == 1
    assert client.get("/api/channel/", headers=USER).status_code == 403
    other = {"Authorization": f"Bearer {OTHER_ACCESS_TOKEN}"}
    failure = client.get("/api/token/1", headers=other)
    assert failure.status_code == 200 and failure.json()["success"] is False and failure.json()["message"]


def test_a_code_is_redeemed_once() -> None:
    client = _client()
    admin = {"Authorization": f"Bearer {ADMIN_ACCESS_TOKEN}"}
    key = client.post("/api/redemption/", json={"name": "c", "count": 1, "quota": 50}, headers=admin).json()["data"][0]
    before = client.get("/api/user/self", headers=USER).json()["data"]["quota"]
    assert client.post("/api/user/topup", json={"key": key}, headers=USER).json()["data"] == 50
    assert client.get("/api/user/self", headers=USER).json()["data"]["quota"] == before + 50
    assert client.post("/api/user/topup", json={"key": key}, headers=USER).json()["success"] is False
