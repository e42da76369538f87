"""The plugin and the transport as packages: the entry point still registers everything, each part
stays small, and suites reach the transport only through its public names (`SuiteTransport`)."""

from __future__ import annotations

import ast
import inspect
from importlib.metadata import entry_points
from pathlib import Path

import conformance.plugin as plugin
from conformance.transport import SuiteTransport, Transport

PACKAGE = Path(__file__).resolve().parents[2] / "conformance"
HOOKS = (
    "pytest_addoption", "pytest_configure", "pytest_unconfigure", "pytest_report_header",
    "pytest_collection_modifyitems", "pytest_runtest_setup", "pytest_runtest_call", "pytest_runtest_makereport",
)
FIXTURES = ("settings", "transport", "models", "verdict", "scripted_upstream", "_nexhina_target",
            "_nexhina_allure_labels")


def test_the_pytest11_entry_point_is_the_package_with_every_hook_and_fixture() -> None:
    (point,) = [e for e in entry_points(group="pytest11") if e.name == "nexhina_conformance"]
    assert point.value == "conformance.plugin"
    for name in HOOKS + FIXTURES:
        assert hasattr(plugin, name), f"conformance.plugin no longer exposes {name}"
    assert set(HOOKS + FIXTURES) <= set(plugin.__all__)


def test_every_part_of_plugin_and_transport_is_small() -> None:
    for part in [*(PACKAGE / "plugin").glob("*.py"), *(PACKAGE / "transport").glob("*.py")]:
        lines = len(part.read_text(encoding="utf-8").splitlines())
        assert lines < 400, f"{part.name}: {lines} lines"


def test_transport_satisfies_the_suite_protocol() -> None:
    members = {name for name in vars(SuiteTransport) if not name.startswith("_")}
    members |= set(inspect.get_annotations(SuiteTransport))
    assert {"request", "stream", "fetch", "concurrently", "base_url", "sent", "scripted"} <= members
    for name in members - {"scripted"}:
        assert hasattr(Transport, name), f"Transport lacks {name} of SuiteTransport"
    for name in ("request", "stream"):
        ours = inspect.signature(getattr(Transport, name)).parameters
        protocol = inspect.signature(getattr(SuiteTransport, name)).parameters
        assert list(protocol) == list(ours), f"{name}: protocol and Transport take different arguments"


def test_suites_use_no_private_name_of_transport_or_plugin() -> None:
    for path in (PACKAGE / "suites").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    ("conformance.transport", "conformance.plugin")):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports private {private} from {node.module}"
