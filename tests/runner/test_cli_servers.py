"""The ``serve`` sub-command's defaults: two serves never name the same scripted-upstream port."""

from __future__ import annotations

import argparse
import urllib.parse
from typing import Any

import pytest

from conformance import cli_servers
from conformance.cli import _parser


def _upstream_of_serve(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> str:
    seen: dict[str, Any] = {}
    monkeypatch.setattr("conformance.reference.server.serve", lambda **kw: seen.update(kw))
    args: argparse.Namespace = _parser().parse_args(["serve", *argv])
    assert cli_servers.serve_command(args) == 0
    return str(seen["upstream_url"])


def test_default_upstream_is_a_free_loopback_port_per_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    first = _upstream_of_serve(monkeypatch, ["--write-target", "a.toml"])
    second = _upstream_of_serve(monkeypatch, ["--write-target", "b.toml"])
    for url in (first, second):
        parts = urllib.parse.urlsplit(url)
        assert (parts.scheme, parts.hostname, parts.path) == ("http", "127.0.0.1", "/v1")
        assert parts.port and parts.port != 8777
    assert first != second


def test_a_given_upstream_is_used_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "http://127.0.0.1:9999/v1"
    assert _upstream_of_serve(monkeypatch, ["--upstream", url]) == url
