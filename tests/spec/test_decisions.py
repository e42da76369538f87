"""Every decision the catalogue cites is one a reader can open in openapi/DECISIONS.md.

``requirements.KNOWN_DECISIONS`` is read from DECISIONS.md's anchors; every ``ref`` of the
catalogue resolves to such an anchor or to a JSON pointer in the spec; the link a failure message
prints for a decision (``D8 (DECISIONS.md#d8)``) names an anchor that exists.
"""

from __future__ import annotations

import re

from conformance import messages, requirements, spec

_DECISIONS = (spec.openapi_dir() / requirements.DECISIONS_FILE).read_text(encoding="utf-8")
_ANCHORS = set(re.findall(r'<a id="(d[0-9]+[a-z]?)"></a>', _DECISIONS))


def _cited() -> list[str]:
    catalogue = requirements.load_catalogue()
    return [ref for requirement in catalogue for ref in catalogue.refs(requirement.id)]


def test_known_decisions_are_the_anchors() -> None:
    assert {d.lower() for d in requirements.KNOWN_DECISIONS} == _ANCHORS
    assert "D8" in requirements.KNOWN_DECISIONS and "D99" not in requirements.KNOWN_DECISIONS


def test_every_anchor_has_its_heading() -> None:
    headings = {m.lower() for m in re.findall(r"^### (D[0-9]+[a-z]?)\b", _DECISIONS, flags=re.MULTILINE)}
    assert sorted(_ANCHORS - headings) == []


def test_every_ref_resolves_to_an_anchor_or_a_pointer() -> None:
    document = spec.load_spec()
    assert requirements.unresolved_refs(requirements.load_catalogue(), document) == []
    decisions = [ref for ref in _cited() if not ref.startswith("#/")]
    assert decisions, "the catalogue cites decisions"
    assert sorted({ref for ref in decisions if ref.lower() not in _ANCHORS}) == []


def test_failure_messages_link_to_an_existing_anchor() -> None:
    for ref in sorted({ref for ref in _cited() if not ref.startswith("#/")}):
        link = messages.spec_ref(ref)
        match = re.fullmatch(r"(D[0-9]+[a-z]?) \(DECISIONS\.md#(d[0-9]+[a-z]?)\)", link)
        assert match is not None, link
        assert match.group(2) in _ANCHORS, link
    assert messages.spec_ref("#/components/schemas/ToolCall") == "#/components/schemas/ToolCall"
