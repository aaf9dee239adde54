"""The HTTP plumbing every emulator shares: hand each request to the emulator, write its answer."""

from __future__ import annotations

from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol


class EmulatedResponse(Protocol):
    """What an emulator's dispatcher answers."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class DispatchingHandler(BaseHTTPRequestHandler):
    """Passes every request to `server.emulator._dispatch(method, path, headers, body)`."""

    server: Any  # each emulator's server class carries its `emulator`

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        # A repeated header arrives as one comma-joined value, as HTTP allows.
        headers = {name: ", ".join(self.headers.get_all(name) or []) for name in self.headers}
        response: EmulatedResponse = self.server.emulator._dispatch(self.command, self.path, headers, body)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body:
            self.wfile.write(response.body)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        pass
