"""The fault matrix's client-impact column: the outcome word and the fault's own requirement."""

from __future__ import annotations

from conformance.matrix import Row, impact_kind, table

RAISES = "openai-python 3.51.0: raises JSONDecodeError: Expecting value"


def test_impact_kind_reads_the_outcome_word() -> None:
    assert impact_kind(RAISES) == "raises"
    assert impact_kind("openai-python 3.51.0: parsed without error (strict validation: raises X)") == "parses"
    assert impact_kind("openai-python 3.51.0: parses differently: tool_calls[0].id: ...") == "parses-differently"
    assert impact_kind("openai-python 3.51.0: not covered (the SDK has no call for POST /rerank)") == "not-covered"
    assert impact_kind("no exchange") == "no-exchange"


def test_the_table_shows_the_impact_of_the_faults_own_requirement() -> None:
    rows = [
        Row("", {}, 0, 1.0),
        Row("chat.response.schema@truncated-json", {"chat.response.schema": "FAIL"}, 1, 2.0,
            {"chat.response.schema": RAISES}),
    ]
    assert rows[1].own_impact == RAISES
    lines = table(rows).splitlines()
    assert "client impact" in lines[0]
    assert "raises" in lines[2] and "chat.response.schema" in lines[2]
