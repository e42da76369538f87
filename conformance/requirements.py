"""The requirement catalogue (``openapi/requirements.yaml``) as typed, immutable objects.

Owns: finding and reading the catalogue, validating it against ``requirements.schema.json``,
rejecting duplicate ids, and lookups by id, feature and profile (the profile rule itself is
``profiles``'). Imports nothing of ours but ``model``, ``errors`` and ``profiles``: it locates
``openapi/`` itself instead of importing ``conformance.spec``, so the dependency graph stays
as ARCHITECTURE.md draws it.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from conformance.errors import CatalogueError
from conformance.model import Level, Requirement
from conformance.profiles import PROFILES, covers

__all__ = [
    "CATALOGUE_FILE",
    "DECISIONS_FILE",
    "KNOWN_DECISIONS",
    "PROFILES",
    "SCHEMA_FILE",
    "Catalogue",
    "catalogue_path",
    "load_catalogue",
    "unresolved_refs",
]

CATALOGUE_FILE: Final = "requirements.yaml"
SCHEMA_FILE: Final = "requirements.schema.json"
DECISIONS_FILE: Final = "DECISIONS.md"
_DECISION = re.compile(r"D[0-9]+[a-z]?")
_ANCHOR = re.compile(r'<a id="d([0-9]+[a-z]?)"></a>')
_MAX_REPORTED = 10


def _openapi_dir() -> Path:
    here = Path(__file__).resolve().parent
    # Same lookup order as conformance.spec: packaged copy first, then the repository checkout.
    for candidate in (here / "_openapi", here.parent / "openapi"):
        if (candidate / CATALOGUE_FILE).is_file():
            return candidate
    return here.parent / "openapi"


def _decision_anchors() -> frozenset[str]:
    """``D<n>`` for every ``<a id="d<n>"></a>`` anchor of DECISIONS.md (a ``ref`` may cite these)."""
    path = _openapi_dir() / DECISIONS_FILE
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    return frozenset(f"D{number}" for number in _ANCHOR.findall(text))


#: Decision numbers a ``ref`` may cite: the anchors of ``openapi/DECISIONS.md``, so every cited
#: decision is one a reader can open (failure messages link ``D8`` to ``DECISIONS.md#d8``).
KNOWN_DECISIONS: Final = _decision_anchors()


def catalogue_path() -> Path:
    """Where the default catalogue is read from."""
    return _openapi_dir() / CATALOGUE_FILE


@dataclass(frozen=True)
class Catalogue:
    """Every requirement of one catalogue file, in file order, looked up by id.

    Attributes:
        version: the catalogue's format version.
        requirements: the entries in file order.
    """

    version: int
    requirements: tuple[Requirement, ...]
    _by_id: Mapping[str, Requirement] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id: dict[str, Requirement] = {}
        for position, requirement in enumerate(self.requirements):
            if requirement.id in by_id:
                raise CatalogueError(f"requirements[{position}]: duplicate id {requirement.id!r}")
            by_id[requirement.id] = requirement
        # Frozen dataclass: the index is derived once, here, and never changes afterwards.
        object.__setattr__(self, "_by_id", MappingProxyType(by_id))

    def __getitem__(self, requirement_id: str) -> Requirement:
        try:
            return self._by_id[requirement_id]
        except KeyError:
            raise CatalogueError(f"unknown requirement id {requirement_id!r}") from None

    def __contains__(self, requirement_id: object) -> bool:
        return requirement_id in self._by_id

    def __iter__(self) -> Iterator[Requirement]:
        return iter(self.requirements)

    def __len__(self) -> int:
        return len(self.requirements)

    def ids(self) -> list[str]:
        """Every id, in file order."""
        return [r.id for r in self.requirements]

    def features(self) -> frozenset[str]:
        """Every feature some requirement needs."""
        return frozenset(r.feature for r in self.requirements)

    def for_profile(self, profile: str) -> list[Requirement]:
        """The requirements of a profile: ``core`` -> the core entries, ``full`` -> all.

        Raises:
            CatalogueError: ``profile`` is not one of PROFILES.
        """
        if profile not in PROFILES:
            raise CatalogueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
        return [r for r in self.requirements if covers(profile, r.profile)]

    def area(self, requirement_id: str) -> str:
        """The first dotted segment of a known id (``chat.stream.done-sentinel`` -> ``chat``)."""
        return self[requirement_id].id.split(".", 1)[0]

    def refs(self, requirement_id: str) -> tuple[str, ...]:
        """Every ``ref`` of a known id: decision numbers and JSON pointers into nexhina.yaml."""
        return self[requirement_id].ref


@functools.cache
def _schema_validator() -> Draft202012Validator:
    path = _openapi_dir() / SCHEMA_FILE
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogueError(f"cannot read the catalogue schema {path}: {exc}") from exc
    return Draft202012Validator(schema)


def _describe(error: ValidationError, document: Any) -> str:
    path = list(error.absolute_path)
    where = "".join(f"/{part}" for part in path[2:]) or "/"
    if len(path) >= 2 and path[0] == "requirements" and isinstance(path[1], int):
        entry = document["requirements"][path[1]]
        ident = entry.get("id") if isinstance(entry, dict) else None
        name = f"requirements[{path[1]}]" + (f" (id {ident!r})" if isinstance(ident, str) else "")
        return f"{name}: {error.message} at {where}"
    return f"{'/'.join(str(p) for p in path) or 'top level'}: {error.message}"


def _error_order(error: ValidationError) -> list[tuple[int, int, str]]:
    # Numeric-aware, so requirements[2] is reported before requirements[10].
    return [(0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in error.absolute_path]


def _parse(document: Any, source: Path) -> Catalogue:
    errors = sorted(_schema_validator().iter_errors(document), key=_error_order)
    if errors:
        lines = [_describe(e, document) for e in errors[:_MAX_REPORTED]]
        more = f"\n  ... and {len(errors) - _MAX_REPORTED} more" if len(errors) > _MAX_REPORTED else ""
        raise CatalogueError(f"{source} is malformed:\n  " + "\n  ".join(lines) + more)
    items = document["requirements"]
    requirements = tuple(
        Requirement(
            id=e["id"],
            level=Level(e["level"]),
            feature=e["feature"],
            profile=e["profile"],
            text=e["text"],
            ref=tuple(e["ref"]),
            basis=e.get("basis"),
        )
        for e in items
    )
    return Catalogue(version=document["version"], requirements=requirements)


def _load(path: Path) -> Catalogue:
    try:
        # libyaml's safe loader when present (several times faster than pure Python).
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except OSError as exc:
        raise CatalogueError(f"cannot read the catalogue {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path} is not valid YAML: {exc}") from exc
    return _parse(document, path)


@functools.cache
def _load_default() -> Catalogue:
    return _load(catalogue_path())


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Read and validate a catalogue (the default one is read once and cached).

    Args:
        path: a catalogue file; ``None`` means ``openapi/requirements.yaml``. Every file is
            validated against the packaged ``requirements.schema.json``.

    Raises:
        CatalogueError: unreadable file, schema violation (naming the entry) or duplicate id.
    """
    return _load_default() if path is None else _load(path)


def _resolves(pointer: str, document: Any) -> bool:
    node = document
    for token in pointer[2:].split("/") if pointer != "#/" else []:
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return False
    return True


def unresolved_refs(
    catalogue: Catalogue, document: Mapping[str, Any], *, decisions: frozenset[str] = KNOWN_DECISIONS
) -> list[str]:
    """Every ``ref`` that points nowhere: an unknown decision, or a pointer absent from ``document``.

    Args:
        catalogue: the catalogue to check.
        document: the parsed OpenAPI document the pointers point into.
        decisions: the decision numbers that exist.

    Returns:
        One ``"<id>: <ref> ..."`` line per dangling ref; empty when all resolve.
    """
    problems = []
    for requirement in catalogue:
        for ref in catalogue.refs(requirement.id):
            if _DECISION.fullmatch(ref):
                if ref not in decisions:
                    problems.append(f"{requirement.id}: {ref} is not a known decision")
            elif not _resolves(ref, document):
                problems.append(f"{requirement.id}: {ref} does not resolve in the OpenAPI document")
    return problems
