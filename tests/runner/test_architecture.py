"""ARCHITECTURE.md is the authority: the import contracts say what its module map says, the map
lists every module, and what a contract cannot express is checked here.

- Every line of the map has an ``arrows: <module>`` contract in ``.importlinter`` that forbids
  exactly the modules of ours outside its arrow (``conformance.model``, ``conformance.errors`` and
  the package version are free for all).
- Every module and package of ``conformance/`` is on the map.
- Target and the model matrix only start and describe the reference and the scripted upstream:
  they import nothing of them but the config, the server and the run-id markers.
"""

from __future__ import annotations

import ast
import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "conformance"
#: Modules every module may import (the shared vocabulary, the error tree).
FREE = frozenset({"model", "errors"})
_LINE = re.compile(r"^(?P<module>[a-z_]+)/?\s+->\s+(?P<arrow>.+?)(?:\s{2,}(?P<what>.*))?$")


def architecture_map() -> dict[str, frozenset[str]]:
    """Module -> what it may import directly, from the code block of ARCHITECTURE.md."""
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    block = text.split("```\n", 2)[1]
    arrows: dict[str, frozenset[str]] = {}
    for line in block.splitlines():
        match = _LINE.match(line)
        assert match is not None, f"ARCHITECTURE.md: a map line that does not parse: {line!r}"
        arrow = match["arrow"].strip()
        targets = () if arrow == "(nothing of ours)" else tuple(a.strip().rstrip("/") for a in arrow.split(","))
        arrows[match["module"]] = frozenset(targets)
    return arrows


def our_modules() -> set[str]:
    """The top-level modules and packages of ``conformance/``."""
    names = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    names |= {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    return names


def contracts() -> configparser.ConfigParser:
    """The parsed ``.importlinter``."""
    parser = configparser.ConfigParser()
    parser.read(ROOT / ".importlinter", encoding="utf-8")
    return parser


def _listed(section: configparser.SectionProxy, key: str) -> set[str]:
    return {line.strip() for line in section.get(key, "").splitlines() if line.strip()}


def test_the_map_lists_every_module() -> None:
    mapped = set(architecture_map())
    assert our_modules() - FREE - mapped == set(), "modules missing from ARCHITECTURE.md"
    assert mapped - our_modules() == set(), "ARCHITECTURE.md names modules that do not exist"


def test_every_arrow_has_its_contract() -> None:
    parser = contracts()
    everything = our_modules() - FREE
    for module, allowed in architecture_map().items():
        section_name = f"importlinter:contract:arrows-{module}"
        assert parser.has_section(section_name), f"no contract for {module}'s arrow"
        section = parser[section_name]
        assert section["type"] == "forbidden"
        assert _listed(section, "source_modules") == {f"conformance.{module}"}
        forbidden = {m.removeprefix("conformance.") for m in _listed(section, "forbidden_modules")
                     if m.startswith("conformance.")}
        assert forbidden == everything - allowed - {module}, f"{module}: contract and map differ"


def test_the_nevers_have_their_contracts() -> None:
    parser = contracts()
    nevers = {
        "checks": {"conformance.transport", "httpx", "pytest", "conformance.reference", "conformance.suites"},
        "reference": {"conformance.checks", "conformance.suites", "conformance.transport"},
        "upstream": {"conformance.checks", "conformance.suites", "conformance.transport"},
        "suites": {"conformance.plugin", "conformance.cli", "conformance.target"},
    }
    for module, never in nevers.items():
        section = parser[f"importlinter:contract:never-{module}"]
        assert section.get("allow_indirect_imports", "False") == "False", f"{module}: a never holds through chains"
        assert never <= _listed(section, "forbidden_modules")


def _imports_of(path: Path, package: str) -> set[str]:
    """``module.name`` for every name ``path`` imports from ``conformance.<package>`` (any depth)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(f"conformance.{package}"):
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith(f"conformance.{package}")}
    return found


def test_target_and_model_matrix_only_start_and_describe_the_reference() -> None:
    start_and_describe = {
        "conformance.reference.config.ReferenceConfig",
        "conformance.reference.server.running_reference",
        "conformance.reference.server.target_file_text",
        "conformance.upstream.app.UpstreamConfig",
        "conformance.upstream.markers.new_run_id",
        "conformance.upstream.server.Upstream",
        "conformance.upstream.server.parse_listen",
        "conformance.upstream.server.running_upstream",
    }
    for module in ("target.py", "model_matrix.py"):
        used = _imports_of(PACKAGE / module, "reference") | _imports_of(PACKAGE / module, "upstream")
        assert used, f"{module}: the test looks at the wrong imports"
        assert used <= start_and_describe, f"{module} uses more of the reference than start and describe"


#: External packages an `arrows:` contract also forbids (directly).
EXTERNAL_NEVER: dict[str, tuple[str, ...]] = {
    "checks": ("httpx", "pytest", "schemathesis"), "reference": ("pytest",), "upstream": ("pytest",),
    "transport": ("pytest",), "config": ("pytest",), "spec": ("pytest", "httpx"), "requirements": ("pytest", "httpx"),
    "sse": ("pytest", "httpx"), "verdicts": ("pytest", "httpx"), "report": ("pytest", "httpx"),
    "messages": ("pytest", "httpx"), "recorder": ("pytest", "httpx"), "sdk": ("pytest", "httpx"), "target": ("pytest",),
    "ledger": ("pytest", "httpx"), "baseline": ("pytest", "httpx"), "diff": ("pytest", "httpx"),
}


def render_arrow_contracts() -> str:
    """The ``arrows-*`` contracts the map implies (``python tests/runner/test_architecture.py``
    prints them, to paste into ``.importlinter`` after a change of the map)."""
    everything = our_modules() - FREE
    out: list[str] = []
    for module, allowed in architecture_map().items():
        lines = [f"[importlinter:contract:arrows-{module}]",
                 f"name = arrows: {module} -> {', '.join(sorted(allowed)) or '(nothing of ours)'}",
                 "type = forbidden", f"source_modules = conformance.{module}", "forbidden_modules ="]
        lines += [f"    conformance.{m}" for m in sorted(everything - allowed - {module})]
        lines += [f"    {e}" for e in EXTERNAL_NEVER.get(module, ())]
        lines.append("allow_indirect_imports = True")
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


if __name__ == "__main__":
    print(render_arrow_contracts(), end="")  # noqa: T201
