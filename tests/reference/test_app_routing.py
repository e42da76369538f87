"""Routing of the reference HTTP layer: unknown paths, wrong methods, assets, fault prefixes."""

from __future__ import annotations

import pytest
from reference_app_support import StubServer, assert_envelope

from conformance.reference.operations import ROUTES, match

_WRONG_METHODS = ("PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "QUERY", "HEAD")


@pytest.mark.parametrize(
    "path",
    ["/v1/nope", "/v1", "/v1/", "/", "/v2/models", "/v1/models/ref-chat/extra", "/v1/models/", "/api/user"],
)
def test_unknown_path_gets_404_envelope(stub_server: StubServer, path: str) -> None:
    response = stub_server.client.get(path, headers={"Authorization": "Bearer x"})
    assert_envelope(response, 404, "not_found")


def test_unknown_path_needs_no_auth_and_any_method(stub_server: StubServer) -> None:
    assert_envelope(stub_server.client.post("/v1/nexhina/no-such-path", json={}), 404, "not_found")


@pytest.mark.parametrize("template", sorted(ROUTES))
def test_wrong_method_gets_405_with_allow(stub_server: StubServer, template: str) -> None:
    path = "/v1" + template.replace("{model}", "ref-chat").replace("{task_id}", "task-1")
    allowed = sorted(ROUTES[template])
    for method in _WRONG_METHODS:
        if method in allowed:
            continue
        response = stub_server.client.request(method, path)
        assert response.status_code == 405, (method, path)
        assert response.headers["allow"] == ", ".join(allowed)
        if method != "HEAD":  # a HEAD answer has no body
            assert_envelope(response, 405, "method_not_allowed")
    documented_other = {"GET": "POST", "POST": "GET"}[allowed[0]]
    assert stub_server.client.request(documented_other, path).status_code == 405


def test_match_extracts_path_parameters() -> None:
    assert match("/models/ref-chat") == ("/models/{model}", {"model": "ref-chat"})
    assert match("/video/generations/abc") == ("/video/generations/{task_id}", {"task_id": "abc"})
    assert match("/models/a/b") is None


def test_assets_are_served_without_auth(stub_server: StubServer) -> None:
    response = stub_server.client.get("/assets/abc")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")
    assert_envelope(stub_server.client.get("/assets/unknown"), 404, "not_found")
    assert stub_server.client.post("/assets/abc").status_code == 405


def test_fault_prefix_applies_faults_to_that_request_only(stub_server: StubServer) -> None:
    faulted = stub_server.client.get("/fault/errors.unknown-path@html/v1/nope")
    assert faulted.status_code == 404
    assert faulted.headers["content-type"].startswith("text/html")
    assert_envelope(stub_server.client.get("/fault/errors.unknown-path/v1/nope"), 400, "invalid_request")
    assert_envelope(stub_server.client.get("/v1/nope"), 404, "not_found")


def test_fault_prefix_serves_the_whole_api(stub_server: StubServer) -> None:
    response = stub_server.request("GET", "/models", faults="errors.unknown-path+errors.wrong-method")
    assert response.status_code == 200
    assert response.json()["object"] == "list"


def test_unknown_fault_in_prefix_is_a_404_with_a_hint(stub_server: StubServer) -> None:
    response = stub_server.client.get("/fault/errors.unknown-pat/v1/models")
    error = assert_envelope(response, 404, "unknown_fault")
    assert "errors.unknown-path" in error["message"]


def test_assets_are_not_under_the_fault_prefix(stub_server: StubServer) -> None:
    assert_envelope(stub_server.client.get("/fault/errors.wrong-method/assets/abc"), 404)


def test_a_path_the_route_pattern_cannot_match_still_gets_the_envelope(stub_server: StubServer) -> None:
    # Starlette's {path:path} does not match an encoded newline: the router's default answers.
    response = stub_server.client.get("/v1/nope%0Aabc", headers={"Authorization": "Bearer x"})
    assert_envelope(response, 404, "not_found")
