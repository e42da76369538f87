"""The relay notes of the report: allowed rewrites made and computed usage (D104)."""

from __future__ import annotations

from pathlib import Path

from conformance.relay_notes import computed_usage, note_lines, rewrites_made, write_notes


def test_rewrites_made_names_each_allowed_rewrite() -> None:
    sent = {"model": "a", "stream": True, "max_tokens": 5}
    received = {"model": "b", "stream": True, "stream_options": {"include_usage": True}, "max_completion_tokens": 5}
    assert rewrites_made(sent, received) == ["model mapped: a -> b", "stream_options.include_usage added",
                                             "max_tokens sent as max_completion_tokens"]
    assert rewrites_made(sent, {**sent}) == []
    assert rewrites_made({**sent, "stream_options": {"include_usage": True}},
                         {**sent, "stream_options": {"include_usage": True}}) == []
    assert rewrites_made(sent, None) == []


def test_computed_usage() -> None:
    assert computed_usage({"id": 1}, {"id": 1, "usage": {"total_tokens": 3}})
    assert not computed_usage({"usage": {"total_tokens": 3}}, {"usage": {"total_tokens": 3}})
    assert not computed_usage({"id": 1}, {"id": 1})


def test_note_lines_gather_every_process(tmp_path: Path) -> None:
    assert write_notes(tmp_path, "gw0", []) is None
    write_notes(tmp_path, "gw0", ["chat: x", "chat: x"])
    write_notes(tmp_path, "gw1", ["chat: x", "embeddings: y"])
    (tmp_path / "relay-notes-bad.json").write_text("{", encoding="utf-8")
    assert note_lines(tmp_path) == ["relay note: chat: x (3x)", "relay note: embeddings: y (1x)"]
