"""A tiny HTTP server on loopback that serves whatever a test puts in it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class FeedState:
    """What the server answers next; tests change it between requests."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/calendar; charset=utf-8"
    requests: list[str] = field(default_factory=list)


@contextmanager
def feed_server(state: FeedState) -> Iterator[str]:
    """Serve `state` at http://127.0.0.1:PORT/calendar.ics and yield that URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            self.send_response(state.status)
            self.send_header("Content-Type", state.content_type)
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/calendar.ics"
    finally:
        server.shutdown()
        server.server_close()
