"""A misbehaving HTTP/1.1 server on 127.0.0.1 for transport and robustness tests.

Raw sockets, one daemon thread per connection, port 0 (the OS picks a free port). The first
path segment chooses the behaviour, so one server serves every mode::

    with HostileServer() as server:
        base_url = server.url("drip")        # http://127.0.0.1:PORT/drip
        ...                                   # any path below it behaves the same way

Modes:
    echo           200 JSON echoing method, path, headers and body; echoes Authorization
                   back in ``X-Echo-Auth`` and ``Set-Cookie`` (redaction tests)
    sse            a well-formed chat-like SSE stream ending in ``data: [DONE]``
    sse-echo       SSE whose first event echoes the Authorization header
    sse-split      the ``sse`` stream written in 1-3 byte pieces with CRLF line ends
    json-ok        200 ``{"ok": true}``
    never          reads the request, never answers
    slow-headers   answers 200 after ``slow_headers_delay`` seconds
    drip           SSE headers, then one event every ``drip_interval`` seconds, forever
    stall          SSE headers and one event, then silence with the connection open
    drop           chunked SSE: two events, then the connection closes mid-body
    drop-length    ``Content-Length: 1000`` but only 10 bytes, then close
    oversize       a huge body (``Content-Length`` 100 MiB) written as fast as possible
    oversize-sse   an endless SSE stream written as fast as possible
    html-502       502 with an HTML body
    429-then-200   the first ``fail_times`` requests per path get 429 ``Retry-After``, then 200
    429-date       like 429-then-200 but ``Retry-After`` is an HTTP date
    429-forever    always 429 with ``Retry-After: 0``
    close          reads the request and closes without answering
    garbage        answers bytes that are not HTTP
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from types import TracebackType

_EVENT = b'data: {"id":"c1","object":"chat.completion.chunk","choices":[]}\n\n'


@dataclass
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HostileServer:
    """The misbehaving server; use it as a context manager (see the module docstring)."""

    drip_interval: float = 0.05
    slow_headers_delay: float = 1.0
    retry_after: str = "0"
    fail_times: int = 1
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]

    def url(self, mode: str) -> str:
        """The base URL that selects ``mode``."""
        return f"http://127.0.0.1:{self.port}/{mode}"

    def __enter__(self) -> HostileServer:
        acceptor = threading.Thread(target=self._accept_loop, name="hostile-accept", daemon=True)
        acceptor.start()
        self._threads.append(acceptor)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        with self._lock:
            for conn in self._conns:
                _quiet_shutdown(conn)
        for thread in list(self._threads):
            thread.join(timeout=2.0)
        self._listener.close()

    # ------------------------------------------------------------------ plumbing

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
            worker = threading.Thread(target=self._serve, args=(conn,), name="hostile-conn", daemon=True)
            self._threads.append(worker)
            worker.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                request = _read_request(conn)
                if request is None:
                    return
                self.received.append(request)
                mode = request.path.lstrip("/").split("/", 1)[0].split("?", 1)[0]
                getattr(self, "_mode_" + mode.replace("-", "_"), self._mode_unknown)(conn, request)
            except OSError:
                return    # the client went away: expected in most modes

    def _count(self, path: str) -> int:
        with self._lock:
            self._counts[path] = self._counts.get(path, 0) + 1
            return self._counts[path]

    # ------------------------------------------------------------------ modes

    def _mode_unknown(self, conn: socket.socket, req: Received) -> None:
        _respond(conn, 404, b'{"error":{"message":"unknown mode","type":"x","param":null,"code":null}}')

    def _mode_json_ok(self, conn: socket.socket, req: Received) -> None:
        _respond(conn, 200, b'{"ok": true}')

    def _mode_echo(self, conn: socket.socket, req: Received) -> None:
        auth = req.headers.get("authorization", "")
        body = json.dumps({"method": req.method, "path": req.path, "headers": req.headers,
                           "body": req.body.decode("utf-8", "replace")}).encode()
        _respond(conn, 200, body, extra=[("X-Echo-Auth", auth), ("Set-Cookie", f"session={auth}")])

    def _mode_sse(self, conn: socket.socket, req: Received) -> None:
        _respond(conn, 200, _EVENT * 3 + b"data: [DONE]\n\n", content_type="text/event-stream")

    def _mode_sse_echo(self, conn: socket.socket, req: Received) -> None:
        auth = req.headers.get("authorization", "")
        first = f'data: {json.dumps({"echo": auth})}\n\n'.encode()
        _respond(conn, 200, first + b"data: [DONE]\n\n", content_type="text/event-stream")

    def _mode_sse_split(self, conn: socket.socket, req: Received) -> None:
        payload = (_EVENT * 3 + b"data: [DONE]\n\n").replace(b"\n", b"\r\n")
        _start_chunked(conn, 200, "text/event-stream")
        for i in range(0, len(payload), 3):
            _chunk(conn, payload[i:i + 1])
            _chunk(conn, payload[i + 1:i + 3])
        conn.sendall(b"0\r\n\r\n")

    def _mode_never(self, conn: socket.socket, req: Received) -> None:
        self._stop.wait()

    def _mode_slow_headers(self, conn: socket.socket, req: Received) -> None:
        if not self._stop.wait(self.slow_headers_delay):
            _respond(conn, 200, b'{"ok": true}')

    def _mode_drip(self, conn: socket.socket, req: Received) -> None:
        _start_chunked(conn, 200, "text/event-stream")
        while not self._stop.is_set():
            _chunk(conn, _EVENT)
            self._stop.wait(self.drip_interval)

    def _mode_stall(self, conn: socket.socket, req: Received) -> None:
        _start_chunked(conn, 200, "text/event-stream")
        _chunk(conn, _EVENT)
        self._stop.wait()

    def _mode_drop(self, conn: socket.socket, req: Received) -> None:
        _start_chunked(conn, 200, "text/event-stream")
        _chunk(conn, _EVENT)
        _chunk(conn, _EVENT)
        conn.shutdown(socket.SHUT_RDWR)

    def _mode_drop_length(self, conn: socket.socket, req: Received) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
        conn.sendall(b'{"partial"')
        conn.shutdown(socket.SHUT_RDWR)

    def _mode_oversize(self, conn: socket.socket, req: Received) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 104857600\r\nConnection: close\r\n\r\n")
        block = b"x" * 65536
        for _ in range(1600):
            if self._stop.is_set():
                return
            conn.sendall(block)

    def _mode_oversize_sse(self, conn: socket.socket, req: Received) -> None:
        _start_chunked(conn, 200, "text/event-stream")
        block = _EVENT * 512
        while not self._stop.is_set():
            _chunk(conn, block)

    def _mode_html_502(self, conn: socket.socket, req: Received) -> None:
        _respond(conn, 502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html")

    def _mode_429_then_200(self, conn: socket.socket, req: Received) -> None:
        if self._count(req.path) <= self.fail_times:
            _respond(conn, 429, _RATE_LIMITED, extra=[("Retry-After", self.retry_after)])
        else:
            _respond(conn, 200, b'{"ok": true}')

    def _mode_429_date(self, conn: socket.socket, req: Received) -> None:
        if self._count(req.path) <= self.fail_times:
            _respond(conn, 429, _RATE_LIMITED, extra=[("Retry-After", formatdate(time.time() + 1, usegmt=True))])
        else:
            _respond(conn, 200, b'{"ok": true}')

    def _mode_429_forever(self, conn: socket.socket, req: Received) -> None:
        _respond(conn, 429, _RATE_LIMITED, extra=[("Retry-After", "0")])

    def _mode_close(self, conn: socket.socket, req: Received) -> None:
        conn.shutdown(socket.SHUT_RDWR)

    def _mode_garbage(self, conn: socket.socket, req: Received) -> None:
        conn.sendall(b"THIS IS NOT HTTP\x00\xff\r\n\r\n")
        conn.shutdown(socket.SHUT_RDWR)


_RATE_LIMITED = b'{"error":{"message":"slow down","type":"rate_limit","param":null,"code":"rate_limited"}}'


def _read_request(conn: socket.socket) -> Received | None:
    conn.settimeout(5.0)
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece:
            return None
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        piece = conn.recv(65536)
        if not piece:
            break
        body += piece
    conn.settimeout(None)
    return Received(method, path, headers, body)


def _respond(conn: socket.socket, status: int, body: bytes, *, content_type: str = "application/json",
             extra: list[tuple[str, str]] | None = None) -> None:
    lines = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}", f"Content-Length: {len(body)}",
             "Connection: close"] + [f"{name}: {value}" for name, value in extra or []]
    conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def _start_chunked(conn: socket.socket, status: int, content_type: str) -> None:
    conn.sendall(f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n"
                 f"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode("latin-1"))


def _chunk(conn: socket.socket, data: bytes) -> None:
    if data:
        conn.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")


def _quiet_shutdown(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass   # already closed by its handler
