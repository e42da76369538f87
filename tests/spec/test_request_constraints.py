"""Request constraints: what a conforming gateway must accept, and what it must reject with 400 (D5, D6)."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import spec

CHAT = {"model": "ref-chat", "messages": [{"role": "user", "content": "Hi"}]}
RESPONSES = {"model": "ref-chat", "input": "Hi"}
EMBED = {"model": "ref-embed", "input": "Hi"}
IMAGE = {"model": "ref-image", "prompt": "a red circle"}
SPEECH = {"model": "ref-tts", "input": "Hi", "voice": "alloy"}
VIDEO = {"model": "ref-video", "prompt": "a boat"}
MODERATION = {"model": "ref-moderation", "input": "Hi"}
RERANK = {"model": "ref-rerank", "query": "q", "documents": ["a", "b"]}
TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}

ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("/chat/completions", CHAT),
    ("/chat/completions", {**CHAT, "unknown_field": {"x": 1}}),
    ("/chat/completions", {**CHAT, "temperature": 0, "top_p": 1, "n": 1, "max_tokens": 1, "seed": -3}),
    ("/chat/completions", {**CHAT, "temperature": 2.0, "presence_penalty": -2, "frequency_penalty": 2}),
    ("/chat/completions", {**CHAT, "temperature": None, "stop": None, "tool_choice": None, "response_format": None}),
    ("/chat/completions", {**CHAT, "stream": True, "stream_options": {"include_usage": True}}),
    ("/chat/completions", {**CHAT, "stop": ["\n", "END"], "logit_bias": {"50256": -100}, "top_logprobs": 20}),
    ("/chat/completions", {**CHAT, "tools": [TOOL], "tool_choice": "required", "parallel_tool_calls": False}),
    ("/chat/completions", {**CHAT, "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}),
    ("/chat/completions", {**CHAT, "response_format": {"type": "json_schema", "json_schema": {"name": "s"}}}),
    ("/chat/completions", {**CHAT, "messages": [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Hi"},
                                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]},
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 21}"},
    ]}),
    ("/responses", RESPONSES),
    ("/responses", {**RESPONSES, "instructions": "Be brief.", "max_output_tokens": 16, "temperature": 1.5}),
    ("/responses", {**RESPONSES, "input": [{"role": "user", "content": [{"type": "input_text", "text": "Hi"}]}]}),
    ("/responses", {**RESPONSES, "input": [
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "42"},
    ], "tools": [{"type": "function", "name": "f", "parameters": None}]}),
    ("/embeddings", EMBED),
    ("/embeddings", {**EMBED, "input": ["a", "b"], "encoding_format": "base64", "dimensions": 8}),
    ("/embeddings", {**EMBED, "input": [1, 2, 3]}),
    ("/embeddings", {**EMBED, "input": [[1, 2], [3]]}),
    ("/images/generations", {**IMAGE, "n": 10, "response_format": "b64_json", "size": "256x256"}),
    ("/images/generations", {"prompt": "no model given"}),
    ("/audio/speech", {**SPEECH, "response_format": "flac", "speed": 0.25}),
    ("/audio/speech", {**SPEECH, "speed": 4.0}),
    ("/video/generations", {**VIDEO, "duration": 0.5, "width": 1, "height": 1, "fps": 1, "n": 1}),
    ("/moderations", {**MODERATION, "input": ["a", "b"]}),
    ("/moderations", {"input": [{"type": "text", "text": "Hi"}]}),
    ("/rerank", {**RERANK, "top_n": 1, "return_documents": True}),
    ("/rerank", {**RERANK, "documents": [{"text": "a"}, "b"]}),
]

REJECTED: list[tuple[str, dict[str, Any], str]] = [
    ("/chat/completions", {"model": "ref-chat"}, "messages missing"),
    ("/chat/completions", {"messages": CHAT["messages"]}, "model missing"),
    ("/chat/completions", {**CHAT, "messages": []}, "messages empty"),
    ("/chat/completions", {**CHAT, "messages": "Hi"}, "messages wrong type"),
    ("/chat/completions", {**CHAT, "messages": [{"role": "robot", "content": "Hi"}]}, "unknown role"),
    ("/chat/completions", {**CHAT, "messages": [{"role": "user"}]}, "user content missing"),
    ("/chat/completions", {**CHAT, "messages": [{"role": "tool", "content": "x"}]}, "tool_call_id missing"),
    ("/chat/completions", {**CHAT, "temperature": 2.01}, "temperature above 2"),
    ("/chat/completions", {**CHAT, "temperature": -0.1}, "temperature below 0"),
    ("/chat/completions", {**CHAT, "temperature": "hot"}, "temperature wrong type"),
    ("/chat/completions", {**CHAT, "top_p": 1.5}, "top_p above 1"),
    ("/chat/completions", {**CHAT, "n": 0}, "n below 1"),
    ("/chat/completions", {**CHAT, "max_tokens": 0}, "max_tokens below 1"),
    ("/chat/completions", {**CHAT, "max_completion_tokens": 0}, "max_completion_tokens below 1"),
    ("/chat/completions", {**CHAT, "presence_penalty": 3}, "presence_penalty above 2"),
    ("/chat/completions", {**CHAT, "top_logprobs": 21}, "top_logprobs above 20"),
    ("/chat/completions", {**CHAT, "stream": "yes"}, "stream wrong type"),
    ("/chat/completions", {**CHAT, "tool_choice": "sometimes"}, "unknown tool_choice"),
    ("/chat/completions", {**CHAT, "response_format": {"type": "yaml"}}, "unknown response_format"),
    ("/chat/completions", {**CHAT, "tools": [{"type": "function"}]}, "tool without function"),
    ("/responses", {"model": "ref-chat"}, "input missing"),
    ("/responses", {**RESPONSES, "max_output_tokens": 0}, "max_output_tokens below 1"),
    ("/responses", {**RESPONSES, "top_p": -1}, "top_p below 0"),
    ("/responses", {**RESPONSES, "input": [{"type": "function_call_output", "output": "x"}]}, "call_id missing"),
    ("/embeddings", {**EMBED, "input": ""}, "empty string input"),
    ("/embeddings", {**EMBED, "input": []}, "empty list input"),
    ("/embeddings", {**EMBED, "input": [[]]}, "empty token array"),
    ("/embeddings", {**EMBED, "encoding_format": "int8"}, "unknown encoding_format"),
    ("/embeddings", {**EMBED, "dimensions": 0}, "dimensions below 1"),
    ("/embeddings", {"input": "Hi"}, "model missing"),
    ("/images/generations", {"model": "ref-image"}, "prompt missing"),
    ("/images/generations", {**IMAGE, "response_format": "png"}, "unknown image response_format"),
    ("/images/generations", {**IMAGE, "n": 0}, "n below 1"),
    ("/audio/speech", {**SPEECH, "input": ""}, "empty speech input"),
    ("/audio/speech", {**SPEECH, "speed": 0.2}, "speed below 0.25"),
    ("/audio/speech", {**SPEECH, "speed": 4.5}, "speed above 4"),
    ("/audio/speech", {**SPEECH, "response_format": "ogg"}, "unknown speech format"),
    ("/audio/speech", {"model": "ref-tts", "input": "Hi"}, "voice missing"),
    ("/video/generations", {"model": "ref-video"}, "prompt missing"),
    ("/video/generations", {**VIDEO, "duration": 0}, "duration not positive"),
    ("/video/generations", {**VIDEO, "width": 0}, "width below 1"),
    ("/moderations", {"model": "ref-moderation"}, "input missing"),
    ("/moderations", {**MODERATION, "input": []}, "empty input list"),
    ("/rerank", {**RERANK, "documents": []}, "empty documents"),
    ("/rerank", {**RERANK, "query": ""}, "empty query"),
    ("/rerank", {**RERANK, "top_n": 0}, "top_n below 1"),
    ("/rerank", {"model": "ref-rerank", "documents": ["a"]}, "query missing"),
]


@pytest.mark.parametrize(("path", "body"), ACCEPTED, ids=[f"{p}-{i}" for i, (p, _) in enumerate(ACCEPTED)])
def test_accepted(path: str, body: dict[str, Any]) -> None:
    errors = [e.message for e in spec.validator_for_request(path, "POST").iter_errors(body)]
    assert errors == []


@pytest.mark.parametrize(("path", "body", "why"), REJECTED, ids=[why for _, _, why in REJECTED])
def test_rejected(path: str, body: dict[str, Any], why: str) -> None:
    assert not spec.validator_for_request(path, "POST").is_valid(body), why


def test_chat_request_is_a_subset_of_the_full_request() -> None:
    """D2: every ChatRequest field exists in ChatCompletionRequest with the same schema."""
    schemas = spec.load_spec()["components"]["schemas"]
    minimal, full = schemas["ChatRequest"], schemas["ChatCompletionRequest"]
    assert minimal["required"] == full["required"]
    for name, schema in minimal["properties"].items():
        assert full["properties"][name] == schema, name
