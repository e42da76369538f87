"""The baseline file: format, reasons, and usage errors with hints."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.baseline import load_baseline, parse_baseline
from conformance.errors import BaselineError

KNOWN = {"chat.stream.done-sentinel", "errors.unknown-model-rejected"}


def test_parses_ids_reasons_and_comments() -> None:
    text = "# known\n\nchat.stream.done-sentinel   proxy strips it (GW-1)\nerrors.unknown-model-rejected\n"
    assert parse_baseline(text, KNOWN) == {
        "chat.stream.done-sentinel": "proxy strips it (GW-1)",
        "errors.unknown-model-rejected": "",
    }


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("chat.stream.done-sentinal\n", "did you mean chat.stream.done-sentinel"),
        ("Chat Stream\n", "is not a requirement id"),
        ("chat.stream.done-sentinel\nchat.stream.done-sentinel\n", "listed twice"),
    ],
)
def test_malformed_baselines_are_usage_errors_with_hints(text: str, fragment: str) -> None:
    with pytest.raises(BaselineError, match=fragment):
        parse_baseline(text, KNOWN, source="b.txt")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match="cannot read baseline"):
        load_baseline(tmp_path / "missing.txt", KNOWN)
