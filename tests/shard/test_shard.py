"""`conformance.shard` and `conformance.merge`: a deterministic, balanced split and an exact merge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.errors import ConfigError
from conformance.merge import load_shards, sum_operations
from conformance.shard import assign, lane_of, parse_shard

TESTS = [f"conformance/suites/test_chat.py::test_{i}[m{j}]" for i in range(10) for j in range(3)] + [
    "conformance/suites/test_rate_limit.py::test_a", "conformance/suites/test_rate_limit.py::test_b",
    "conformance/suites/test_platform_tokens.py::test_x", "conformance/suites/test_relay.py::test_y",
]


def test_parse_shard() -> None:
    assert parse_shard("2/3").index == 2
    for bad in ("0/3", "4/3", "x", "1/", "2"):
        with pytest.raises(ConfigError, match="--shard"):
            parse_shard(bad)


def test_lanes() -> None:
    assert lane_of("conformance/suites/test_rate_limit.py::test_a") == "rate-limit"
    assert lane_of("conformance/suites/test_platform_tokens.py::test_x") == "platform"
    assert lane_of("conformance/suites/test_relay.py::test_y") == "gateway"
    assert lane_of("conformance/suites/test_chat.py::test_1[m0]") is None


def test_split_is_deterministic_balanced_and_keeps_lanes_whole() -> None:
    split = assign(TESTS, 3)
    assert split == assign(list(reversed(TESTS)), 3)  # order of collection does not matter
    sizes = sorted(list(split.values()).count(k) for k in (1, 2, 3))
    assert sizes[-1] - sizes[0] <= 2
    lane = "conformance/suites/test_rate_limit.py::test_"
    assert split[lane + "a"] == split[lane + "b"]


def test_durations_weight_the_split() -> None:
    heavy = {TESTS[0]: 100.0}
    split = assign(TESTS, 2, heavy)
    alone = [t for t in TESTS if split[t] == split[TESTS[0]]]
    assert alone == [TESTS[0]]


def _shard(tmp_path: Path, index: int, tests: list[str], *, plan: str = "p", planned: list[str] | None = None) -> Path:
    directory = tmp_path / f"s{index}"
    directory.mkdir()
    document = {"format": 1, "plan": plan, "shard": index, "shards": 2, "planned": planned or ["a", "b"],
                "tests": tests, "baseline": [], "requests_sent": 0, "preflight_requests": 0, "records": []}
    (directory / "shard.json").write_text(json.dumps(document))
    return directory


def test_merge_refuses_different_plans(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="different plan"):
        load_shards([_shard(tmp_path, 1, ["a"]), _shard(tmp_path, 2, ["b"], plan="q")])


def test_merge_refuses_a_plan_not_fully_covered(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing: \[2\]"):
        load_shards([_shard(tmp_path, 1, ["a"])])


def test_merge_refuses_a_directory_without_shard_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a shard file"):
        load_shards([tmp_path])


def test_merge_sums_the_cost_per_operation_over_the_shards() -> None:
    reports = [{"run": {"requests_by_operation": {"chat.create": 3, "models.list": 1}}},
               {"run": {"requests_by_operation": {"chat.create": 2, "embeddings.create": 4}}},
               {"run": {}}]
    assert sum_operations(reports) == {"chat.create": 5, "embeddings.create": 4, "models.list": 1}
