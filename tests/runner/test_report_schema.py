"""The report's schema_version moves with its shape, and ``diff`` can read every published version."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from conformance.diff import READABLE_VERSIONS
from conformance.report import REPORT_SCHEMA_VERSION

SCHEMA = Path(__file__).resolve().parents[2] / "conformance" / "data" / "conformance-report.schema.json"

#: The shape of each published schema version (sha256 of the schema without comments/titles).
#: Changing the schema's shape fails this test until the version is bumped: bump
#: REPORT_SCHEMA_VERSION and the schema's const, add the new fingerprint here, and teach
#: conformance.diff to read (or clearly refuse) the new version.
SHAPES = {
    1: "97ad2ff42425cf5c9b2fd005ffe44e3fb2b140f2cbbd84b4534330f2a810a8bc",
    2: "7b2f078dc0c5f3bbed850c138790497c39624c771b672ec59e6a33d3b94fa3eb",
    3: "b907106bd7b95a42daa63624b17f6dbc4b46b9c2c4619db12588c1a7934df755",
}


def _strip(node: object) -> object:
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if k not in ("$comment", "description", "title")}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def test_the_schema_version_is_bumped_with_the_shape() -> None:
    schema = json.loads(SCHEMA.read_text())
    assert schema["properties"]["schema_version"] == {"const": REPORT_SCHEMA_VERSION}
    shape = hashlib.sha256(json.dumps(_strip(schema), sort_keys=True).encode()).hexdigest()
    assert SHAPES.get(REPORT_SCHEMA_VERSION) == shape, (
        f"the report schema's shape changed (now {shape}) but schema_version is still {REPORT_SCHEMA_VERSION}: "
        "bump it (see the schema's $comment)"
    )


def test_diff_reads_every_published_version() -> None:
    assert set(SHAPES) <= READABLE_VERSIONS
    assert REPORT_SCHEMA_VERSION == max(READABLE_VERSIONS)
