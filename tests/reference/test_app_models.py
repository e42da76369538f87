"""GET /models and GET /models/{model} of the reference (D16), with the models faults."""

from __future__ import annotations

import pytest
from reference_app_support import StubServer, assert_envelope

from conformance.reference.models import MODEL_CREATED, MODELS, OWNED_BY, all_model_ids


def test_list_has_every_model(stub_server: StubServer) -> None:
    response = stub_server.request("GET", "/models")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    listing = response.json()
    assert listing["object"] == "list"
    assert [m["id"] for m in listing["data"]] == all_model_ids()
    assert set(MODELS.values()) <= {m["id"] for m in listing["data"]}
    for model in listing["data"]:
        assert model == {"id": model["id"], "object": "model", "created": MODEL_CREATED, "owned_by": OWNED_BY}


@pytest.mark.parametrize("model_id", all_model_ids())
def test_retrieve_each_model(stub_server: StubServer, model_id: str) -> None:
    response = stub_server.request("GET", f"/models/{model_id}")
    assert response.status_code == 200
    assert response.json() == {"id": model_id, "object": "model", "created": MODEL_CREATED, "owned_by": OWNED_BY}


def test_retrieve_unknown_gets_404(stub_server: StubServer) -> None:
    error = assert_envelope(stub_server.request("GET", "/models/nope"), 404, "model_not_found")
    assert error["param"] == "model"


def test_models_need_auth(stub_server: StubServer) -> None:
    assert_envelope(stub_server.request("GET", "/models", key=None), 401)
    assert_envelope(stub_server.request("GET", "/models/ref-chat", key="sk-unknown"), 401)


def test_fault_list_shape(stub_server: StubServer) -> None:
    listing = stub_server.request("GET", "/models", faults="models.list.shape").json()
    assert listing["object"] == "list" and sorted(listing["data"]) == sorted(all_model_ids())


def test_fault_list_object(stub_server: StubServer) -> None:
    listing = stub_server.request("GET", "/models", faults="models.list.object").json()
    assert listing["object"] == "models" and len(listing["data"]) == len(all_model_ids())


def test_fault_list_model_shape_leaves_retrieve_alone(stub_server: StubServer) -> None:
    listing = stub_server.request("GET", "/models", faults="models.list.model-shape").json()
    assert all(isinstance(m["created"], str) for m in listing["data"])
    one = stub_server.request("GET", "/models/ref-chat", faults="models.list.model-shape").json()
    assert one["created"] == MODEL_CREATED


def test_fault_declared_models(stub_server: StubServer) -> None:
    listing = stub_server.request("GET", "/models", faults="models.list.declared-models").json()
    ids = {m["id"] for m in listing["data"]}
    assert "ref-rerank" not in ids and "ref-chat" in ids


def test_fault_retrieve_shape(stub_server: StubServer) -> None:
    response = stub_server.request("GET", "/models/ref-chat", faults="models.retrieve.shape")
    assert response.json()["data"]["id"] == "ref-chat"


def test_fault_retrieve_unknown(stub_server: StubServer) -> None:
    invented = stub_server.request("GET", "/models/nope", faults="models.retrieve.unknown-404")
    assert invented.status_code == 200 and invented.json()["id"] == "nope"
    new_api = stub_server.request("GET", "/models/nope", faults="models.retrieve.unknown-404@200-error")
    assert new_api.status_code == 200 and new_api.json()["error"]["code"] == "model_not_found"
    assert stub_server.request("GET", "/models/ref-chat", faults="models.retrieve.unknown-404").status_code == 200
