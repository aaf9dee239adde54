"""A tiny HTTP server on loopback that serves whatever a test puts in it."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FeedState:
    """What the server answers next; tests change it between requests.

    `redirect_to` answers every request with a 302 there. `drip_seconds` sends the body one byte
    at a time with that pause in between (a slow-drip server). `connections` counts accepted TCP
    connections, `requests` and `hosts` are the paths and Host headers of the requests read from
    them, and `server_names` the TLS server names (SNI) clients asked for.
    """

    status: int = 200
    body: bytes = b""
    content_type: str = "text/calendar; charset=utf-8"
    redirect_to: str | None = None
    drip_seconds: float = 0.0
    requests: list[str] = field(default_factory=list)
    hosts: list[str | None] = field(default_factory=list)
    connections: int = 0
    server_names: list[str | None] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: FeedState, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.state = state

    def process_request(self, request: Any, client_address: Any) -> None:
        self.state.connections += 1
        super().process_request(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        assert isinstance(self.server, _Server)
        state = self.server.state
        state.requests.append(self.path)
        state.hosts.append(self.headers.get("Host"))
        if state.redirect_to is not None:
            self.send_response(302)
            self.send_header("Location", state.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(state.status)
        self.send_header("Content-Type", state.content_type)
        self.send_header("Content-Length", str(len(state.body)))
        self.end_headers()
        if not state.drip_seconds:
            self.wfile.write(state.body)
            return
        for index in range(len(state.body)):
            if state.stopping.wait(state.drip_seconds):
                return
            try:
                self.wfile.write(state.body[index : index + 1])
                self.wfile.flush()
            except OSError:  # the client gave up
                return

    def log_message(self, *_: object) -> None:
        pass


@contextmanager
def feed_server(state: FeedState, *, tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """Serve `state` at http://127.0.0.1:PORT/calendar.ics (https:// with `tls`) and yield that URL."""
    server = _Server(state, _Handler)
    if tls is not None:

        def record_server_name(_: ssl.SSLObject, name: str | None, __: ssl.SSLContext) -> None:
            state.server_names.append(name)

        tls.sni_callback = record_server_name
        # The handshake happens in the request's thread, so a client that fails it blocks no one.
        server.socket = tls.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    scheme = "https" if tls is not None else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}/calendar.ics"
    finally:
        state.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
