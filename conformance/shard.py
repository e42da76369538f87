"""Sharding a run: ``--shard K/N`` runs a deterministic, balanced part of the plan.

Owns the split (`assign`), the plan's identity (`plan_id`), the division of the request
budget between shards, and the shard file (``shard.json`` in the report directory: the
plan, this shard's tests and the raw per-test records, opaque JSON, for
``conformance.merge``). The split depends only on what every shard has alike: the collected
test ids, the run's declared inputs and an optional durations file given on the command
line; never on local leftovers (caches, previous reports).

Units of work: every test is one unit (so a test per model is one unit per model), except
the lanes that must run whole on one shard: the gateway (relay) lane and the platform lane
(DESIGN.md "Lanes": modules named ``*relay*``/``*upstream*``/``*gateway*`` and
``*platform*``; they share the scripted upstream and the platform's store), and the
rate-limit tests (one key's sliding window, which concurrent shards would share). Units are
assigned longest first to the least-loaded shard (ties: the lower shard), weights from the
durations file (seconds per test id; default 1 per test).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Generator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from conformance.config import Settings
from conformance.errors import ConfigError

__all__ = ["SHARD_FILE", "ShardHooks", "ShardSpec", "add_options", "assign", "lane_of", "parse_shard", "plan_id"]

SHARD_FILE = "shard.json"
SHARD_FORMAT = 1
#: Module-name fragments of the lanes that run whole on one shard, in order of precedence.
LANES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("platform", ("platform",)),
    ("gateway", ("relay", "upstream", "gateway")),
    ("rate-limit", ("rate_limit",)),
)
_RECORD_PROPERTY = "nexhina-record"


@dataclasses.dataclass(frozen=True)
class ShardSpec:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int


def parse_shard(text: str) -> ShardSpec:
    """``K/N`` with 1 <= K <= N; anything else is a ConfigError naming the option."""
    index, sep, count = text.partition("/")
    try:
        spec = ShardSpec(int(index), int(count))
    except ValueError:
        spec = ShardSpec(0, 0)
    if not sep or not 1 <= spec.index <= spec.count:
        raise ConfigError(f"CLI option '--shard': expected K/N with 1 <= K <= N, got {text!r}")
    return spec


def lane_of(nodeid: str) -> str | None:
    """The lane a test runs in whole (``platform``, ``gateway``, ``rate-limit``), or None for a free unit."""
    module = nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")
    for lane, fragments in LANES:
        if any(fragment in module for fragment in fragments):
            return lane
    return None


def assign(nodeids: Sequence[str], count: int, durations: Mapping[str, float] | None = None) -> dict[str, int]:
    """Each test id's shard (1-based): lanes whole, then longest unit first to the least loaded."""
    weights = durations or {}
    units: dict[str, list[str]] = {}
    for nodeid in nodeids:
        lane = lane_of(nodeid)
        units.setdefault(f"lane:{lane}" if lane else nodeid, []).append(nodeid)

    def weight(members: list[str]) -> float:
        return sum(float(weights.get(m, 1.0)) for m in members)

    load = [0.0] * count
    shard_of: dict[str, int] = {}
    for _key, members in sorted(units.items(), key=lambda kv: (-weight(kv[1]), kv[0])):
        target = min(range(count), key=lambda i: (load[i], i))
        load[target] += weight(members)
        for member in members:
            shard_of[member] = target + 1
    return shard_of


def plan_id(nodeids: Iterable[str], settings: Settings, count: int) -> str:
    """A digest of what every shard must share: the tests, the profile, features, models, N."""
    plan = {
        "tests": sorted(nodeids),
        "profile": settings.profile,
        "features": sorted(settings.features),
        "models": dict(sorted(settings.models.items())),
        "shards": count,
        "seed": settings.properties.seed,
    }
    return hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()[:16]


def divided_budget(settings: Settings, count: int) -> Settings:
    """The settings of one shard: the whole run's request budget divided between shards."""
    share = max(1, math.ceil(settings.budgets.max_requests / count))
    budgets = dataclasses.replace(settings.budgets, max_requests=share)
    return dataclasses.replace(settings, budgets=budgets)


def add_options(group: Any) -> None:
    """The sharding options of the pytest plugin's option group."""
    group.addoption("--nexhina-shard", dest="nexhina_shard", default=None, metavar="K/N",
                    help="run shard K of N (a deterministic, balanced part of the plan)")
    group.addoption("--nexhina-shard-durations", dest="nexhina_shard_durations", default=None, metavar="FILE",
                    help="JSON {test id: seconds} weighting the split (the same file on every shard)")


def load_durations(path: str | None) -> dict[str, float]:
    """The durations file (JSON object of test id to seconds); a bad file is a ConfigError."""
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"CLI option '--shard-durations': cannot read {path!r}: {exc}") from exc
    if not isinstance(data, dict) or not all(isinstance(v, (int, float)) for v in data.values()):
        raise ConfigError(f"CLI option '--shard-durations': {path!r} must be a JSON object of test id to seconds")
    return {str(k): float(v) for k, v in data.items()}


class ShardHooks:
    """The hooks of a sharded run (registered by the plugin when ``--nexhina-shard`` is given).

    Args:
        spec: which shard this is.
        durations: test id -> seconds (the split's weights).
        baseline: the run's baseline ids (written to the shard file for the merge).
    """

    def __init__(self, spec: ShardSpec, durations: Mapping[str, float], baseline: Iterable[str]) -> None:
        self.spec = spec
        self.durations = dict(durations)
        self.baseline = sorted(baseline)
        self.planned: list[str] = []
        self.mine: list[str] = []
        self.plan = ""
        self.records: list[dict[str, object]] = []

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        """Keep this shard's part of the (profile-selected) plan."""
        from conformance.plugin import STATE

        self.planned = [item.nodeid for item in items]
        self.plan = plan_id(self.planned, config.stash[STATE].settings, self.spec.count)
        shard_of = assign(self.planned, self.spec.count, self.durations)
        keep = [item for item in items if shard_of[item.nodeid] == self.spec.index]
        others = [item for item in items if shard_of[item.nodeid] != self.spec.index]
        self.mine = [item.nodeid for item in keep]
        if others:
            config.hook.pytest_deselected(items=others)
            items[:] = keep

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep every raw per-test record (opaque JSON: new record fields pass through)."""
        for name, value in report.user_properties:
            if name == _RECORD_PROPERTY:
                self.records.append(json.loads(str(value)))

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> Generator[None, None, None]:
        """After the plugin's reports: write the shard file next to them (controller only)."""
        result = yield
        config = session.config
        if hasattr(config, "workerinput"):
            return result
        from conformance.plugin import STATE, report_dir_of

        state = config.stash[STATE]
        directory = report_dir_of(config)
        directory.mkdir(parents=True, exist_ok=True)
        document = {
            "format": SHARD_FORMAT,
            "plan": self.plan,
            "shard": self.spec.index,
            "shards": self.spec.count,
            "planned": self.planned,
            "tests": self.mine,
            "baseline": self.baseline,
            "requests_sent": state.requests_sent,
            "preflight_requests": _preflight_requests(state),  # issue 19 (s6): the model-rule probes too
            "records": self.records,
        }
        (directory / SHARD_FILE).write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        return result


def _preflight_requests(state: Any) -> int:
    """The requests the run's preflight sent (GET /models and the model-rule probes; issue 19)."""
    if state.settings.base_url is None:
        return 0
    return state.ledger.preflight_requests() if state.ledger is not None else 1
