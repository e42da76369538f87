"""Running the scripted upstream: ``running_upstream`` (a background server for one run)
and ``serve_upstream`` (blocking, for ``nexhina-conformance upstream``).

Owns ``Upstream`` (the running server: its URL, key, records and marker factory). Unlike
the reference it may listen on any address: a gateway in a container must reach it, and
it answers only requests that carry its channel key.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import uvicorn

from conformance.reference.server import bind_listener
from conformance.upstream.app import UpstreamConfig, create_upstream_app
from conformance.upstream.markers import MarkerFactory
from conformance.upstream.records import RecordStore

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Upstream:
    """A running scripted upstream.

    Attributes:
        url: the base URL it listens on (``http://host:port/v1``).
        config: its channel key, run id and slow delay.
        records: every request it received.
        markers: makes markers of this run.
    """

    url: str
    config: UpstreamConfig
    records: RecordStore
    markers: MarkerFactory


def parse_listen(listen: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:port`` for IPv6) as a pair; raises ValueError when malformed."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"expected host:port, got {listen!r}")
    return host.strip("[]"), int(port)


@contextlib.contextmanager
def running_upstream(listen: str, config: UpstreamConfig) -> Iterator[Upstream]:
    """Run the scripted upstream on ``listen`` (port 0: a free one) in a background thread."""
    store = RecordStore()
    sock = _listen(*parse_listen(listen))
    server = _server(config, store)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="nxc-upstream", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the scripted upstream did not start")
            time.sleep(0.002)
        yield Upstream(_url(sock), config, store, MarkerFactory(config.run))
    finally:
        server.should_exit = True
        thread.join(_STOP_TIMEOUT)
        sock.close()
        if thread.is_alive():
            raise RuntimeError("the scripted upstream did not stop")


def serve_upstream(listen: str, config: UpstreamConfig, *, on_ready: Callable[[str], None] | None = None) -> None:
    """Run the scripted upstream until interrupted; ``on_ready`` gets its base URL."""
    sock = _listen(*parse_listen(listen))
    server = _server(config, RecordStore())
    if on_ready is not None:
        on_ready(_url(sock))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


def _listen(host: str, port: int) -> socket.socket:
    return bind_listener(host, port, what="the scripted upstream")


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    if shown in ("0.0.0.0", "[::]"):
        shown = "127.0.0.1"
    return f"http://{shown}:{port}/v1"


def _server(config: UpstreamConfig, store: RecordStore) -> uvicorn.Server:
    app = create_upstream_app(config, store)
    return uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                         timeout_graceful_shutdown=1))
