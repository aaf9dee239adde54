"""What every emulator shares: the recorded request, client authentication, the HTTP handler and the
background sender of push notifications."""

from __future__ import annotations

import base64
import binascii
import json
import queue
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import parse_qs, unquote

JobT = TypeVar("JobT")


class Headers(dict[str, str]):
    """Header names stored lower-cased; lookups ignore case."""

    def __init__(self, items: dict[str, str] | None = None) -> None:
        super().__init__({k.lower(): v for k, v in (items or {}).items()})

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


@dataclass
class RecordedRequest:
    """One request an emulator received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Headers
    body: bytes
    status: int | None = None  # the status the emulator answered with

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """The body parsed as a form (first value of each field)."""
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def param(self, name: str) -> str | None:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else None


def client_auth(req: RecordedRequest, form: dict[str, str]) -> tuple[str | None, str | None, str]:
    """(client id, secret, how) of a token request; how is "basic", "body" (form fields) or "none"."""
    header = req.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, None, "basic"
        return unquote(user), unquote(password), "basic"
    if "client_id" in form:
        return form.get("client_id"), form.get("client_secret"), "body"
    return None, None, "none"


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


class BackgroundSender(Generic[JobT]):
    """Delivers jobs (push notifications) one at a time on its own thread, as Google and Microsoft do.

    A job that raises is recorded in `errors` and the sender goes on with the next one.
    """

    def __init__(self, deliver: Callable[[JobT], None], errors: list[str], name: str) -> None:
        self._deliver = deliver
        self._errors = errors
        self._name = name
        self._queue: queue.Queue[JobT | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish the jobs queued so far, then end the thread."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout=10)
        self._thread = None

    def put(self, job: JobT) -> None:
        self._queue.put(job)

    def wait(self, timeout: float) -> bool:
        """Wait until every queued job was attempted; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                self._deliver(job)
            except Exception:  # never let one bad address stop the sender
                self._errors.append(traceback.format_exc())
            finally:
                self._queue.task_done()
