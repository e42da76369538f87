"""`conformance.model_matrix` on canned records: the model of a test id, per-model verdicts, the area matrix."""

from __future__ import annotations

import pytest

from conformance.baseline import parse_baseline
from conformance.config import Matrix, resolve
from conformance.errors import BaselineError, ConfigError
from conformance.model_matrix import area_matrix, baselined_for, expand_baseline, model_of, per_model
from conformance.requirements import load_catalogue
from conformance.verdicts import TEST_PASSED, TEST_VIOLATED, TestRecord, ViolationRecord

RID = "chat.response.assistant-role"


def test_model_of_reads_the_last_id_part() -> None:
    assert model_of("suites/test_chat.py::test_x[stream-model=ref-chat-3]") == "ref-chat-3"
    assert model_of("suites/test_chat.py::test_x[model=a]") == "a"
    assert model_of("suites/test_auth.py::test_y[listModels]") is None


def test_per_model_verdicts_and_the_worst_per_area() -> None:
    records = [
        TestRecord("t.py::test_a[model=m1]", (RID,), TEST_PASSED, judged=(RID,)),
        TestRecord("t.py::test_a[model=m2]", (RID,), TEST_VIOLATED, (ViolationRecord(RID, "assistant", "system"),)),
        TestRecord("t.py::test_auth", ("auth.valid-key",), TEST_PASSED, judged=("auth.valid-key",)),
    ]
    models = per_model(records, load_catalogue())
    assert models == {"m1": {RID: "PASS"}, "m2": {RID: "FAIL"}}
    areas, table = area_matrix(models)
    assert areas == ["chat"] and table == {"m1": {"chat": "PASS"}, "m2": {"chat": "FAIL"}}


def test_matrix_settings_from_file_env_and_cli() -> None:
    file = {"models": {"chat": "gpt-4o"}, "matrix": {"models": "all", "chat": ["gpt-*"]}}
    settings = resolve({}, {}, file)
    assert settings.matrix == Matrix(models=("all",), rules=settings.matrix.rules)
    assert dict(settings.matrix.rules) == {"chat": ("gpt-*",)}
    assert resolve({}, {"NEXHINA_MODELS": "a, b"}, file).matrix.models == ("a", "b")
    assert resolve({"matrix.models": "c"}, {}, file).matrix.models == ("c",)
    with pytest.raises(ConfigError, match=r"\[matrix\] chat"):
        resolve({}, {}, {**file, "matrix": {"chat": "gpt-*"}})


def test_model_baseline_entries() -> None:
    records = [
        TestRecord("t.py::test_a[model=m1]", (RID,), TEST_PASSED, judged=(RID,)),
        TestRecord("t.py::test_a[model=m2]", (RID,), TEST_VIOLATED, (ViolationRecord(RID, "assistant", "system"),)),
    ]
    catalogue = load_catalogue()
    assert expand_baseline(records, catalogue, [f"m2:{RID}"]) == ([RID], [])
    assert expand_baseline(records, catalogue, [f"m1:{RID}"]) == ([], [f"m1:{RID}"])
    assert baselined_for([f"m2:{RID}", "chat.n-choices"], "t.py::test_a[model=m2]") == {RID, "chat.n-choices"}
    assert parse_baseline(f"llama3:8b:{RID} known\n", catalogue.ids()) == {f"llama3:8b:{RID}": "known"}
    with pytest.raises(BaselineError, match="names no model"):
        parse_baseline(f":{RID}\n", catalogue.ids())
