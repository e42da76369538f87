"""``nexhina-conformance list requirements``: one line per requirement, with a MUST's basis (D71)."""

from __future__ import annotations

import pytest

from conformance import cli
from conformance.requirements import load_catalogue


def test_list_requirements_shows_level_and_basis(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["list", "requirements"]) == 0
    lines = {line.split()[0]: line.split()[1:3] for line in capsys.readouterr().out.splitlines()}
    catalogue = load_catalogue()
    assert set(lines) == set(catalogue.ids())
    assert lines["auth.missing-key"] == ["MUST", "access"]
    assert lines["chat.response.object"] == ["SHOULD", "-"]
