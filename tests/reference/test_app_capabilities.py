"""A reference routing only some capabilities (``ReferenceConfig.capabilities``, ``serve --capabilities``)."""

from __future__ import annotations

import httpx
import pytest

from conformance.errors import ConfigError
from conformance.reference.config import DEFAULT_API_KEY, ReferenceConfig
from conformance.reference.server import running_reference

AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}


def test_unserved_capabilities_answer_404_and_are_not_listed() -> None:
    with running_reference(ReferenceConfig(capabilities=frozenset({"chat"}))) as url:
        listed = httpx.get(f"{url}/models", headers=AUTH).json()
        embed = httpx.post(f"{url}/embeddings", headers=AUTH, json={"model": "ref-embed", "input": "x"})
        chat = httpx.post(f"{url}/chat/completions", headers=AUTH,
                          json={"model": "ref-chat", "messages": [{"role": "user", "content": "hi"}]})
        retrieve = httpx.get(f"{url}/models/ref-embed", headers=AUTH)
    assert [m["id"] for m in listed["data"]] == ["ref-chat"]
    assert embed.status_code == 404 and embed.json()["error"]["code"] == "not_found"
    assert chat.status_code == 200
    assert retrieve.status_code == 404


def test_unknown_capability_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown capability 'nope'"):
        ReferenceConfig(capabilities=frozenset({"nope"}))
