"""The ``serve`` and ``upstream`` sub-commands: the reference gateway and the scripted upstream.

Each runs one server in the foreground until interrupted and prints what a client (or a
gateway channel) needs to reach it. Kept apart from ``cli`` so the command line stays a thin
parser over pytest.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from conformance.verdicts import ExitCode


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")


def serve_command(args: argparse.Namespace) -> int:
    """``nexhina-conformance serve``: the embedded reference on loopback, until interrupted."""
    from conformance.errors import ConfigError
    from conformance.reference.server import serve

    try:
        latency = _operation_latency(args.operation_latency)
    except ConfigError as exc:
        _err(f"nexhina-conformance: {exc}")
        return int(ExitCode.USAGE_ERROR)
    serve(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        faults=tuple(args.fault),
        write_target=args.write_target,
        capabilities=[c.strip() for c in args.capabilities.split(",") if c.strip()] if args.capabilities else None,
        models_per_capability=args.models_per_capability,
        model_faults=[tuple(spec.split("=", 1)) for spec in args.model_fault if "=" in spec],
        upstream_url=args.upstream or f"http://127.0.0.1:{_free_port()}/v1",
        on_ready=_out,
        latency_ms=args.latency_ms,
        operation_latency_ms=latency,
    )
    return 0


def _free_port() -> int:
    """A loopback port free right now: the default home of the scripted upstream a target file names."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _operation_latency(items: Sequence[str]) -> dict[str, float]:
    """``["/chat/completions=800"]`` -> ``{"/chat/completions": 800.0}``."""
    from conformance.errors import ConfigError

    latency: dict[str, float] = {}
    for item in items:
        path, _, ms = item.partition("=")
        try:
            latency[path.strip()] = float(ms)
        except ValueError as exc:
            raise ConfigError(
                f"--operation-latency: expected PATH=MS such as /chat/completions=800, got {item!r}") from exc
    return latency


def upstream_command(args: argparse.Namespace) -> int:
    """``nexhina-conformance upstream``: the scripted upstream alone, with what a channel needs."""
    from conformance.reference.config import DEFAULT_CHANNEL_KEY
    from conformance.upstream.app import UPSTREAM_MODELS, UpstreamConfig
    from conformance.upstream.markers import new_run_id
    from conformance.upstream.server import serve_upstream

    key = args.key or DEFAULT_CHANNEL_KEY
    host = f"[{args.host}]" if ":" in args.host else args.host

    def ready(url: str) -> None:
        _out(f"scripted upstream: {url}")
        _out(f"channel base URL: {url}   channel key: {key}")
        _out(f"models: {', '.join(sorted(set(UPSTREAM_MODELS.values())))}")
        listen = url.split("//", 1)[1].split("/", 1)[0]
        _out(f"target file: [upstream] listen = \"{listen}\", key = <this key>; stop this "
             "command before `run`, which starts its own upstream there")

    serve_upstream(f"{host}:{args.port}", UpstreamConfig(key, new_run_id()), on_ready=ready)
    return 0
