"""conformance.config: layer precedence, validation messages, masking, the example target file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.config import (
    CORE_FEATURES,
    Settings,
    describe,
    load_target_file,
    resolve,
)
from conformance.errors import ConfigError

FEATURES = frozenset({"models", "chat", "chat.streaming", "auth", "errors", "embeddings"})
SECRET = "sk-TESTSECRET-9f8e7d"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "target.toml"


#: The core features are declared by default, and they need a chat model.
BASE_FILE: dict[str, object] = {"models": {"chat": "test-chat"}}


def run(cli: dict[str, object] | None = None, env: dict[str, str] | None = None,
        file: dict[str, object] | None = None) -> Settings:
    layer = {**BASE_FILE, **(file or {})}
    return resolve(cli or {}, env or {}, layer, file_name="t.toml", known_features=FEATURES)


# --------------------------------------------------------------------------- defaults


def test_defaults_are_safe_for_a_paid_endpoint() -> None:
    settings = run()
    assert settings.base_url is None and settings.api_key is None
    assert settings.budgets.max_tokens <= 16 and settings.budgets.max_requests == 2000
    assert settings.tls.verify is True and settings.tls.ca_bundle is None
    assert settings.timeouts.request > 0 and settings.timeouts.stream > 0
    assert settings.profile == "full" and settings.allow_writes is False
    assert settings.features == CORE_FEATURES and dict(settings.models) == {"chat": "test-chat"}
    assert set(settings.sources.values()) == {"default", "file"}


def test_a_declared_feature_needs_the_model_of_its_capability() -> None:
    with pytest.raises(ConfigError, match=r"'chat' is declared .* models\.chat is not set"):
        resolve({}, {}, {}, file_name="t.toml", known_features=FEATURES)
    with pytest.raises(ConfigError, match=r"'embeddings' .* models\.embeddings"):
        run(file={"target": {"features": ["embeddings"]}})


# --------------------------------------------------------------------------- precedence

# (dotted key, file value, env name, env text, cli value, attribute path, expected file/env/cli values)
LAYERED = [
    ("target.base_url", "http://file:1/v1", "NEXHINA_BASE_URL", "http://env:2/v1", "http://cli:3/v1",
     "base_url", ("http://file:1/v1", "http://env:2/v1", "http://cli:3/v1")),
    ("budgets.max_tokens", 11, "NEXHINA_MAX_TOKENS", "12", 13, "budgets.max_tokens", (11, 12, 13)),
    ("budgets.max_requests", 100, "NEXHINA_MAX_REQUESTS", "200", "300", "budgets.max_requests", (100, 200, 300)),
    ("timeouts.read", 1.5, "NEXHINA_READ_TIMEOUT", "2.5", 3.5, "timeouts.read", (1.5, 2.5, 3.5)),
    ("properties.seed", 1, "NEXHINA_SEED", "2", 3, "properties.seed", (1, 2, 3)),
    ("target.features", ["chat"], "NEXHINA_FEATURES", "models, auth", ["errors"], "features",
     (frozenset({"chat"}), frozenset({"models", "auth"}), frozenset({"errors"}))),
]


def _file_layer(dotted: str, value: object) -> dict[str, object]:
    section, _, key = dotted.partition(".")
    return {section: {key: value}}


def _get(settings: Settings, path: str) -> object:
    value: object = settings
    for part in path.split("."):
        value = getattr(value, part)
    return value


@pytest.mark.parametrize("row", LAYERED, ids=[row[0] for row in LAYERED])
def test_every_pair_of_layers(row: tuple) -> None:  # type: ignore[type-arg]
    dotted, file_value, env_name, env_text, cli_value, attr, (from_file, from_env, from_cli) = row
    file, env, cli = _file_layer(dotted, file_value), {env_name: env_text}, {dotted: cli_value}
    cases = [
        ({}, {}, file, from_file, "file"),          # file beats default
        ({}, env, {}, from_env, "env"),             # env beats default
        ({}, env, file, from_env, "env"),           # env beats file
        (cli, {}, {}, from_cli, "cli"),             # cli beats default
        (cli, {}, file, from_cli, "cli"),           # cli beats file
        (cli, env, {}, from_cli, "cli"),            # cli beats env
        (cli, env, file, from_cli, "cli"),          # all three
    ]
    for cli_layer, env_layer, file_layer, expected, layer in cases:
        settings = run(cli_layer, env_layer, file_layer)
        assert _get(settings, attr) == expected, (cli_layer, env_layer, file_layer)
        assert settings.sources[dotted] == layer


def test_models_merge_per_capability_across_layers() -> None:
    settings = run(cli={"models.chat": "cli-chat"}, file={"models": {"chat": "f-chat", "embeddings": "f-emb"}})
    assert dict(settings.models) == {"chat": "cli-chat", "embeddings": "f-emb"}
    assert settings.sources["models.chat"] == "cli" and settings.sources["models.embeddings"] == "file"


def test_api_key_env_indirection_from_the_file() -> None:
    settings = run(env={"MY_KEY": SECRET}, file={"target": {"api_key_env": "MY_KEY"}})
    assert settings.api_key == SECRET and settings.sources["target.api_key"] == "file"
    # NEXHINA_API_KEY still beats the file's indirection
    assert run(env={"MY_KEY": SECRET, "NEXHINA_API_KEY": "sk-env"},
               file={"target": {"api_key_env": "MY_KEY"}}).api_key == "sk-env"


def test_empty_env_values_count_as_not_set() -> None:
    settings = run(env={"NEXHINA_MAX_TOKENS": "", "NEXHINA_BASE_URL": "  "}, file={"budgets": {"max_tokens": 4}})
    assert settings.budgets.max_tokens == 4 and settings.base_url is None


def test_unrelated_and_unknown_env_variables_are_ignored() -> None:
    settings = run(env={"PATH": "/bin", "NEXHINA_DB_URL": "postgres://x", "NEXHINA_TARGET": "t.toml"})
    assert settings == run()


def test_profile_and_allow_writes() -> None:
    assert run(env={"NEXHINA_PROFILE": "core"}).profile == "core"
    assert run(cli={"profile": "full"}, env={"NEXHINA_PROFILE": "core"}).profile == "full"
    assert run(cli={"allow_writes": True}).allow_writes is True
    assert run(cli={"allow_writes": "yes"}).allow_writes is True


def test_base_url_trailing_slash_is_dropped() -> None:
    assert run(cli={"target.base_url": "https://api.example.com/v1/"}).base_url == "https://api.example.com/v1"


def test_known_features_default_is_the_profiles_module() -> None:
    """Without ``known_features`` the names are checked against `conformance.profiles.FEATURES`."""
    from conformance.profiles import FEATURES

    assert "video" in FEATURES
    assert resolve({}, {}, {"target": {"features": ["video"]}, "models": {"video": "v"}}).features == {"video"}
    with pytest.raises(ConfigError, match="unknown capability 'teleport'"):
        resolve({}, {}, {"target": {"features": ["teleport"]}})


# --------------------------------------------------------------------------- rejections

REJECTED = [
    # (cli, env, file, fragments that must all appear in the message)
    ({}, {"NEXHINA_READ_TIMEOUT": "-1"}, {}, ["timeouts.read", "environment variable NEXHINA_READ_TIMEOUT", "'-1'"]),
    ({}, {}, {"timeouts": {"stream": 0}}, ["timeouts.stream", "t.toml [timeouts] stream", "0"]),
    ({"budgets.max_tokens": "many"}, {}, {}, ["budgets.max_tokens", "CLI option", "'many'"]),
    ({}, {}, {"budgets": {"max_tokens": "16"}}, ["budgets.max_tokens", "[budgets] max_tokens", "'16'"]),
    ({}, {}, {"budgets": {"max_tokens": True}}, ["budgets.max_tokens", "True"]),
    ({}, {}, {"target": {"base_url": "ftp://x/v1"}}, ["target.base_url", "http(s) URL", "'ftp://x/v1'"]),
    ({"target.base_url": "localhost:8080"}, {}, {}, ["target.base_url", "CLI option", "'localhost:8080'"]),
    ({}, {"NEXHINA_BASE_URL": "http://u:p@h/v1"}, {}, ["target.base_url", "without credentials"]),
    ({}, {}, {"target": {"features": ["chat", "teleport"]}}, ["target.features", "'teleport'", "t.toml"]),
    ({}, {"NEXHINA_FEATURES": "chat,warp"}, {}, ["target.features", "'warp'", "NEXHINA_FEATURES"]),
    ({}, {"NEXHINA_PROFILE": "huge"}, {}, ["profile", "'huge'", "core, full"]),
    ({"models.telepathy": "m"}, {}, {}, ["unknown setting 'models.telepathy'", "CLI"]),
    ({}, {}, {"models": {"chatt": "m"}}, ["unknown setting 'models.chatt'", "t.toml", "did you mean 'models.chat'"]),
    ({}, {}, {"budget": {"max_tokens": 1}}, ["unknown setting 'budget.max_tokens'", "did you mean"]),
    ({}, {}, {"target": "x"}, ["[target]", "must be a table"]),
    ({"run.allow_writes": True}, {}, {}, ["unknown setting 'run.allow_writes'", "did you mean 'allow_writes'"]),
    ({}, {}, {"run": {"allow_writes": True}}, ["unknown setting 'run.allow_writes'", "target file"]),
    ({}, {}, {"allow_writes": True}, ["unknown setting 'allow_writes'", "target file"]),
    ({}, {}, {"tls": {"verify": "no"}}, ["tls.verify", "boolean"]),
    ({}, {}, {"target": {"api_key_env": "NOPE"}}, ["target.api_key_env", "'NOPE'", "not set"]),
    ({}, {"K": "v"}, {"target": {"api_key": "a", "api_key_env": "K"}}, ["either api_key or api_key_env"]),
    ({}, {}, {"limits": {"rate_limit_requests": 0}}, ["limits.rate_limit_requests", ">= 1"]),
]


@pytest.mark.parametrize(("cli", "env", "file", "fragments"), REJECTED, ids=[str(i) for i in range(len(REJECTED))])
def test_bad_values_and_unknown_keys_are_rejected_with_key_layer_and_value(
    cli: dict[str, object], env: dict[str, str], file: dict[str, object], fragments: list[str],
) -> None:
    with pytest.raises(ConfigError) as info:
        run(cli, env, file)
    for fragment in fragments:
        assert fragment in str(info.value)


@pytest.mark.parametrize("layers", [
    ({}, {}, {"target": {"api_key": 12345}}),
    ({"target.api_key": ["x", SECRET]}, {}, {}),
    ({}, {}, {"keys": {"disabled": [SECRET]}}),
    ({}, {}, {"keys": SECRET}),
])
def test_rejected_secrets_are_masked_in_the_message(layers: tuple) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError) as info:
        run(*layers)
    assert SECRET not in str(info.value) and "12345" not in str(info.value)
    assert "********" in str(info.value) or "must be a table" in str(info.value)


# --------------------------------------------------------------------------- describe / repr


def test_describe_masks_secrets_and_names_sources() -> None:
    settings = run(cli={"target.api_key": SECRET}, env={"NEXHINA_MAX_TOKENS": "8"},
                   file={"keys": {"disabled": "sk-disabled-123"}, "target": {"base_url": "http://h:1/v1"}})
    rows = {key: (value, source) for key, value, source in describe(settings)}
    assert rows["target.api_key"] == ("********", "cli")
    assert rows["keys.disabled"] == ("********", "file")
    assert rows["keys.expired"] == ("(not set)", "default")
    assert rows["budgets.max_tokens"] == ("8", "env")
    assert rows["target.base_url"] == ("http://h:1/v1", "file")
    assert rows["tls.verify"] == ("true", "default")
    text = repr(describe(settings)) + repr(settings) + repr(settings.keys)
    assert SECRET not in text and "sk-disabled-123" not in text
    assert settings.secrets() == (SECRET, "sk-disabled-123")


# --------------------------------------------------------------------------- files


def test_example_target_file_parses_and_resolves() -> None:
    data = load_target_file(EXAMPLE)
    settings = resolve({}, {"NEXHINA_API_KEY": SECRET}, data, file_name=str(EXAMPLE),
                       known_features=_features_of(data))
    assert settings.base_url == "http://127.0.0.1:8765/v1"
    assert settings.models["chat"] and settings.implementation_name
    assert settings.budgets.max_tokens == 16 and settings.tls.verify is True
    assert settings.keys.model_restricted_model
    assert settings.limits.rate_limit_requests and settings.limits.body_limit_bytes


def test_example_features_are_catalogue_features() -> None:
    catalogue = pytest.importorskip("conformance.requirements")
    declared = _features_of(load_target_file(EXAMPLE))
    assert declared <= frozenset(catalogue.load_catalogue().features())


def _features_of(data: dict[str, object]) -> frozenset[str]:
    target = data["target"]
    assert isinstance(target, dict)
    return frozenset(target["features"])


def test_reference_target_file_resolves() -> None:
    server = pytest.importorskip("conformance.reference.server")
    reference = pytest.importorskip("conformance.reference.config")
    import tomllib

    text = server.target_file_text("http://127.0.0.1:9/v1", reference.ReferenceConfig())
    settings = resolve({}, {}, tomllib.loads(text), file_name="reference")
    assert settings.base_url == "http://127.0.0.1:9/v1" and settings.api_key
    assert settings.features and settings.models["chat"] and settings.keys.disabled


def test_load_target_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[target\nbase_url = 1\n")
    with pytest.raises(ConfigError, match="bad.toml.*not valid TOML"):
        load_target_file(bad)
    with pytest.raises(ConfigError, match="cannot read target file .*missing.toml"):
        load_target_file(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("feature", "missing"),
    [
        ("auth.disabled-key", "keys.disabled"),
        ("auth.model-restricted-key", "keys.model_restricted"),
        ("rate-limit", "keys.rate_limited"),
        ("body-limit", "limits.body_limit_bytes"),
    ],
)
def test_declared_feature_without_its_key_or_limit_is_a_config_error(feature: str, missing: str) -> None:
    with pytest.raises(ConfigError, match=rf"{re.escape(feature)}.*{re.escape(missing)}"):
        resolve({}, {}, {"target": {"features": [feature]}}, file_name="t.toml", known_features=[feature])


def test_declared_feature_with_its_key_resolves() -> None:
    file = {"target": {"features": ["auth.disabled-key"]}, "keys": {"disabled": "sk-off"}}
    settings = resolve({}, {}, file, file_name="t.toml", known_features=["auth.disabled-key"])
    assert "auth.disabled-key" in settings.features
