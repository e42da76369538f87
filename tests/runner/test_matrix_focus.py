"""The fault matrix's focus: a fault's own areas always, a deterministic sample of the rest."""

from __future__ import annotations

from conformance.matrix import focus_for


def test_focus_keeps_the_areas_of_the_fault_and_its_collateral() -> None:
    focus = focus_for("chat.stream.framing@stall", 0, ["errors.no-server-error"])
    assert focus.areas == {"chat", "errors"}
    assert focus.keeps("test_chat.py::test_x", ["chat.minimal-request"])
    assert focus.keeps("test_errors.py::test_y", ["errors.envelope-shape", "models.list.shape"])
    assert not focus.keeps("test_rerank.py::test_z", ["rerank.sorted"])


def test_the_sample_of_the_rest_is_deterministic_and_about_its_percent() -> None:
    nodeids = [f"test_other.py::test_{i}" for i in range(1000)]
    focus = focus_for("models.list.shape", 15)
    kept = [n for n in nodeids if focus.keeps(n, ["rerank.sorted"])]
    assert kept == [n for n in nodeids if focus_for("models.list.shape", 15).keeps(n, ["rerank.sorted"])]
    assert 100 <= len(kept) <= 200
    assert all(focus_for("models.list.shape", 100).keeps(n, ["rerank.sorted"]) for n in nodeids)
