"""Running the reference gateway: ``serve`` (blocking), ``running_reference`` (a background
server for one run or test) and ``target_file_text`` (the target file describing it).

Owns the uvicorn wiring. The server only ever listens on a loopback address: it answers
to well-known keys and is a test fixture, not a service.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import json
import logging
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

import conformance
from conformance.errors import ConfigError
from conformance.reference.app import create_app
from conformance.reference.config import ReferenceConfig
from conformance.reference.faults import parse_faults
from conformance.reference.models import MODELS
from conformance.reference.platform_store import ADMIN_ACCESS_TOKEN, OTHER_ACCESS_TOKEN, USER_ACCESS_TOKEN
from conformance.reference.relay import RELAY_CAPABILITIES

logger = logging.getLogger("conformance.reference.server")

NAME = "nexhina-reference"
#: Seconds allowed for the background server to start and to stop.
_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0
#: Target-file timeouts that keep the suite fast against the reference.
_VIDEO_POLL_INTERVAL = 0.05
_VIDEO_DEADLINE = 10.0
#: Budgets written to the target file (the suite's defaults for a paid endpoint).
_BUDGETS = {"max_requests": 2000, "max_tokens": 16, "retries_429": 2, "max_retry_after": 10.0}


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    api_key: str | None = None,
    faults: Iterable[str] = (),
    write_target: str | Path | None = None,
    *,
    capabilities: Iterable[str] | None = None,
    models_per_capability: int = 1,
    model_faults: Iterable[tuple[str, str]] = (),
    upstream_url: str | None = None,
    on_ready: Callable[[str], None] | None = None,
    latency_ms: float = 0.0,
    operation_latency_ms: Mapping[str, float] | None = None,
) -> None:
    """Run the reference gateway until interrupted (Ctrl-C / SIGTERM).

    Args:
        host: a loopback address (127.0.0.1, ::1 or localhost).
        port: the port; 0 picks a free one (the base URL passed to ``on_ready`` says which).
        api_key: the valid key (default ``sk-nexhina-reference``).
        faults: fault names switched on for every request.
        write_target: when given, the target file for this server is written there (with
            ``capabilities``: declaring only the served capabilities, their models and features).
        capabilities: serve only these capabilities (None: all), as a gateway routing few.
        models_per_capability: serve this many models per capability (``ReferenceConfig``).
        model_faults: (model, fault) pairs: faults on only for requests naming that model.
        upstream_url: relay mode: the relay models are forwarded to this upstream base URL.
        on_ready: called with the base URL once the socket listens (the CLI prints it).
        latency_ms: simulated round trip added to every request.
        operation_latency_ms: per operation path suffix, a latency replacing ``latency_ms``.

    Raises:
        ConfigError: a non-loopback host, an unknown fault or capability, or a bad key.
    """
    served = None if capabilities is None else frozenset(capabilities)
    scoped = tuple((model, name) for model, name in model_faults)
    parse_faults(name for _, name in scoped)   # unknown fault names fail here, not per request
    config = ReferenceConfig(faults=parse_faults(faults), capabilities=served,
                             models_per_capability=models_per_capability, model_faults=scoped,
                             latency_ms=latency_ms, operation_latency_ms=tuple((operation_latency_ms or {}).items()),
                             upstream_url=upstream_url)
    if api_key:
        config = dataclasses.replace(config, api_key=api_key)
    sock = _listen(host, port)
    base_url = _base_url(sock)
    if write_target is not None:
        Path(write_target).write_text(target_file_text(base_url, config), encoding="utf-8")
    server = _server(wired_app(config))
    if on_ready is not None:
        on_ready(base_url)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


def free_loopback_port() -> int:
    """A 127.0.0.1 port free right now: where a run's scripted upstream will listen (relay mode)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def running_reference(config: ReferenceConfig) -> Iterator[str]:
    """Run the reference on a free 127.0.0.1 port in a background thread; yield its base URL.

    On exit the server is asked to stop, its thread joined and its socket closed.

    Raises:
        RuntimeError: the server did not start (or stop) within its time bound.
    """
    with running_app(wired_app(config)) as base_url:
        yield base_url


@contextlib.contextmanager
def running_app(app: ASGIApp) -> Iterator[str]:
    """Run any ASGI ``app`` as ``running_reference`` does (the self-tests pass stubbed apps)."""
    sock = _listen("127.0.0.1", 0)
    server = _server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="nexhina-reference", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the reference gateway did not start")
            time.sleep(0.002)
        yield _base_url(sock)
    finally:
        server.should_exit = True
        thread.join(_STOP_TIMEOUT)
        sock.close()
        if thread.is_alive():
            raise RuntimeError("the reference gateway did not stop")


def wired_app(config: ReferenceConfig) -> ASGIApp:
    """The reference app of ``config`` behind its wire layer (latency, hostile faults)."""
    from conformance.reference.wire import WireLayer

    return WireLayer(create_app(config), faults=config.faults.names, latency_ms=config.latency_ms,
                     operation_latency_ms=dict(config.operation_latency_ms))


def target_file_text(base_url: str, config: ReferenceConfig) -> str:
    """The target file (TOML) that describes a reference server at ``base_url`` (a server
    routing only some capabilities: only those, their models and their features)."""
    lines = [
        "# Target file of the embedded Nexhina reference gateway (written by nexhina-conformance).",
        "[target]",
        f"base_url = {_toml(base_url)}",
        f"api_key = {_toml(config.api_key)}",
        f"name = {_toml(NAME)}",
        f"version = {_toml(conformance.__version__)}",
        f"features = [{', '.join(_toml(f) for f in served_features(config))}]",
        "",
        "[models]",
        *(f"{cap} = {_toml(model)}" for cap, model in MODELS.items() if config.serves(cap)),
        *(f"relay_{cap} = {_toml(model)}" for cap, model in RELAY_CAPABILITIES.items()
          if config.upstream_url and config.serves(cap)),
        "",
        *_upstream_lines(config),
        "[keys]",
        f"disabled = {_toml(config.disabled_key)}",
        f"expired = {_toml(config.expired_key)}",
        f"exhausted = {_toml(config.exhausted_key)}",
        f"model_restricted = {_toml(config.model_restricted_key)}",
        f"model_restricted_model = {_toml(config.model_restricted_model)}",
        f"rate_limited = {_toml(config.rate_limited_key)}",
        "",
        "[limits]",
        f"rate_limit_requests = {config.rate_limit_requests}",
        f"rate_limit_window_seconds = {float(config.rate_limit_window_seconds)}",
        f"body_limit_bytes = {config.body_limit_bytes}",
        "",
        "[timeouts]",
        f"video_poll_interval = {_VIDEO_POLL_INTERVAL}",
        f"video_deadline = {_VIDEO_DEADLINE}",
        "",
        "[budgets]",
        *(f"{name} = {value}" for name, value in _BUDGETS.items()),
        "",
        "# The management API lives at the site root (base_url without /v1, D50).",
        "[platform]",
        f"access_token = {_toml(USER_ACCESS_TOKEN)}",
        f"admin_access_token = {_toml(ADMIN_ACCESS_TOKEN)}",
        f"other_access_token = {_toml(OTHER_ACCESS_TOKEN)}",
    ]
    return "\n".join(lines) + "\n"


def _upstream_lines(config: ReferenceConfig) -> list[str]:
    """The ``[upstream]`` table of a relaying reference: where the suite's scripted upstream
    listens (where the reference forwards), and its key; nothing when it does not relay."""
    if not config.upstream_url:
        return []
    netloc = urllib.parse.urlsplit(config.upstream_url).netloc
    return ["[upstream]", f"listen = {_toml(netloc)}", f"public_url = {_toml(config.upstream_url)}",
            f"key = {_toml(config.channel_key)}", f"gateway_timeout = {float(config.relay_timeout)}", ""]


#: capability -> the catalogue feature that is its base (its sub-features are ``base.*``).
_BASE_FEATURE: Mapping[str, str] = {
    "chat": "chat", "responses": "responses", "embeddings": "embeddings", "images": "images",
    "speech": "audio.speech", "transcription": "audio.transcription", "translation": "audio.translation",
    "video": "video", "moderation": "moderation", "rerank": "rerank",
}
#: Capability-independent features whose tests send chat completions (the keys in special
#: states, the limits, determinism): declared only where chat is served (so is ``relay``, the
#: relayed chat; ``relay.<capability>`` goes with its capability).
_ON_CHAT: frozenset[str] = frozenset({"auth.disabled-key", "auth.expired-key", "auth.exhausted-key",
                                      "auth.model-restricted-key", "rate-limit", "body-limit", "determinism"})


def served_features(config: ReferenceConfig) -> list[str]:
    """The features the reference of ``config`` implements: every catalogue feature, less those
    of capabilities it does not serve (and, without chat, the features tested through chat)."""
    features = _features(relay=bool(config.upstream_url))
    if config.capabilities is None:
        return features
    unserved = [_BASE_FEATURE[cap] for cap in MODELS if not config.serves(cap)]
    unserved += [f"relay.{cap}" for cap in RELAY_CAPABILITIES if not config.serves(cap)]
    return [f for f in features
            if not any(f == base or f.startswith(base + ".") for base in unserved)
            and (config.serves("chat") or (f not in _ON_CHAT and f != "relay"))]


def _features(*, relay: bool) -> list[str]:
    """Every feature of the requirement catalogue (the reference implements them all; the
    relay features only in relay mode)."""
    from conformance import spec  # the catalogue sits next to the spec

    path = spec.openapi_dir() / "requirements.yaml"
    document = spec.read_yaml(path)
    features = {str(item["feature"]) for item in document["requirements"]}
    return sorted(f for f in features if relay or not (f == "relay" or f.startswith("relay.")))


def _toml(text: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes).
    return json.dumps(text, ensure_ascii=False)


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on a loopback ``host``; refuses any other address."""
    resolved = "127.0.0.1" if host == "localhost" else host
    try:
        loopback = ipaddress.ip_address(resolved).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(f"the reference gateway listens on loopback only (127.0.0.1, ::1, localhost), got {host!r}")
    return bind_listener(resolved, port, what="the reference gateway")


def bind_listener(host: str, port: int, *, what: str) -> socket.socket:
    """A non-blocking TCP socket listening on ``host:port`` for a uvicorn server.

    Raises:
        ConfigError: the address cannot be bound (``what`` names the server in the message).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only when
    # the listener says so, and without it every keep-alive answer waits ~40 ms (delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"{what} cannot listen on {host}:{port}: {exc}") from exc
    sock.setblocking(False)
    return sock


def _base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/v1"


def _server(app: ASGIApp) -> uvicorn.Server:
    uv_config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="auto",  # s7: the reference closes its relay clients on shutdown
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(uv_config)
