"""Precedence as documented: command line > environment > target file (pytest ini values
included, under the target file) > defaults; one test per pair of layers (D85, D86)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.config import Settings, resolve
from conformance.errors import ConfigError
from conformance.target import resolve_settings, runs_suites

FEATURES = frozenset({"models", "chat", "chat.streaming", "auth", "errors"})
KEY = "budgets.max_requests"
#: One value per layer; a test gives two layers and expects the higher one's value.
LAYERS = {
    "cli": ({KEY: "11"}, {}, {}, {}),
    "env": ({}, {"NEXHINA_MAX_REQUESTS": "22"}, {}, {}),
    "file": ({}, {}, {"budgets": {"max_requests": 33}}, {}),
    "ini": ({}, {}, {}, {KEY: "44"}),
}
VALUE = {"cli": 11, "env": 22, "file": 33, "ini": 44, "default": Settings().budgets.max_requests}
#: The layer recorded in ``Settings.sources`` (ini values are part of the file layer).
SOURCE = {"cli": "cli", "env": "env", "file": "file", "ini": "file", "default": "default"}


def _resolve(*layers: str) -> Settings:
    cli: dict[str, object] = {}
    env: dict[str, str] = {}
    file: dict[str, object] = {"models": {"chat": "m"}}
    ini: dict[str, str] = {}
    for name in layers:
        c, e, f, i = LAYERS[name]
        cli.update(c)
        env.update(e)
        file.update(f)
        ini.update(i)
    return resolve(cli, env, file, file_name="t.toml", known_features=FEATURES, ini=ini)


@pytest.mark.parametrize(("higher", "lower"), [
    ("cli", "env"), ("cli", "file"), ("cli", "ini"), ("cli", "default"),
    ("env", "file"), ("env", "ini"), ("env", "default"),
    ("file", "ini"), ("file", "default"),
    ("ini", "default"),
])
def test_the_higher_layer_wins(higher: str, lower: str) -> None:
    settings = _resolve(*(name for name in (higher, lower) if name != "default"))
    assert settings.budgets.max_requests == VALUE[higher]
    assert settings.sources[KEY] == SOURCE[higher]
    # and the lower layer alone gives its own value: the pair really was in conflict
    alone = _resolve(*(() if lower == "default" else (lower,)))
    assert alone.budgets.max_requests == VALUE[lower]


def test_ini_values_are_text_parsed_like_the_environment() -> None:
    with pytest.raises(ConfigError, match=r"budgets.max_requests.*pytest ini value of budgets.max_requests"):
        resolve({}, {}, {"models": {"chat": "m"}}, known_features=FEATURES, ini={KEY: "many"})


def test_ini_may_give_the_profile_but_never_allow_writes() -> None:
    base = {"models": {"chat": "m"}}
    assert resolve({}, {}, base, known_features=FEATURES, ini={"profile": "core"}).profile == "core"
    assert resolve({}, {"NEXHINA_PROFILE": "full"}, base, known_features=FEATURES,
                   ini={"profile": "core"}).profile == "full"
    with pytest.raises(ConfigError, match="allow_writes.*command line only"):
        resolve({}, {}, base, known_features=FEATURES, ini={"allow_writes": "true"})
    with pytest.raises(ConfigError, match="unknown setting 'budgets.max_tokenz'"):
        resolve({}, {}, base, known_features=FEATURES, ini={"budgets.max_tokenz": "3"})


# --------------------------------------------------------------------------- resolve_settings

TARGET = '[target]\nbase_url = "http://127.0.0.1:9/v1"\n[models]\nchat = "m"\n[budgets]\nmax_requests = 33\n'


def test_resolve_settings_ini_is_under_env_and_target_file(tmp_path: Path) -> None:
    target = tmp_path / "t.toml"
    target.write_text(TARGET, encoding="utf-8")
    ini = {"target": str(target), "max_requests": "44", "seed": "5"}
    settings = resolve_settings({}, {}, ini)
    assert settings.base_url == "http://127.0.0.1:9/v1"            # the ini named the target file
    assert settings.budgets.max_requests == 33                      # the target file over the ini
    assert settings.properties.seed == 5 and settings.sources["properties.seed"] == "file"
    assert resolve_settings({}, {"NEXHINA_MAX_REQUESTS": "22"}, {"max_requests": "44", "target": str(target)}
                            ).budgets.max_requests == 22             # the environment over the ini
    assert resolve_settings({"max_requests": "11"}, {"NEXHINA_MAX_REQUESTS": "22"}, ini
                            ).budgets.max_requests == 11             # the command line over both


def test_resolve_settings_target_path_option_over_env_over_ini(tmp_path: Path) -> None:
    for name, url in (("cli", "http://127.0.0.1:1/v1"), ("env", "http://127.0.0.1:2/v1"),
                      ("ini", "http://127.0.0.1:3/v1")):
        (tmp_path / f"{name}.toml").write_text(f'[target]\nbase_url = "{url}"\n[models]\nchat = "m"\n',
                                               encoding="utf-8")
    cli, env, ini = ({"target": str(tmp_path / f"{n}.toml")} for n in ("cli", "env", "ini"))
    env_var = {"NEXHINA_TARGET": env["target"]}
    assert resolve_settings(cli, env_var, ini).base_url == "http://127.0.0.1:1/v1"
    assert resolve_settings({}, env_var, ini).base_url == "http://127.0.0.1:2/v1"
    assert resolve_settings({}, {}, ini).base_url == "http://127.0.0.1:3/v1"


def test_ini_values_show_through_the_embedded_references_description() -> None:
    """The embedded reference's own description lies under every layer the user gave."""
    settings = resolve_settings({}, {}, {"max_requests": "44"})
    assert settings.base_url is None and settings.budgets.max_requests == 44


# --------------------------------------------------------------------------- preflight trigger

SUITES = Path(__file__).resolve().parents[2] / "conformance" / "suites"


@pytest.mark.parametrize(("args", "pyargs", "where", "expected"), [
    (["conformance.suites"], True, Path("/"), True),
    (["conformance.suites.test_chat"], True, Path("/"), True),
    (["suites"], False, SUITES.parent, True),                       # no "conformance/" in the text
    ([f"{SUITES}/test_chat.py::test_x"], False, Path("/"), True),
    (["."], False, SUITES.parent.parent, True),                     # a directory holding the suites
    (["tests/config"], False, SUITES.parent.parent, False),
    (["conformance_suites_elsewhere.py"], False, Path("/"), False),  # the name alone is not enough
    (["tests/conformance/suites_notes.txt"], True, Path("/"), False),
])
def test_runs_suites_by_where_the_arguments_lie(args: list[str], pyargs: bool, where: Path, expected: bool) -> None:
    assert runs_suites(args, pyargs=pyargs, invocation_dir=where) is expected
