"""Browser tests: Playwright drives Debian's Chromium against the real app served over real HTTP.

- `chromium_executable`: the browser, or a skip with the reason (a failure when CI=true).
- `serve_app`: the app on a loopback port, optionally with the in-process scheduler of `reminders serve`.
- `guard`: fails the test on console errors, uncaught page errors and answers of 500 and above.
- `screenshots`: full-page screenshots into test-artifacts/screenshots/ (REMINDERS_ARTIFACTS_DIR overrides).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, Response, sync_playwright

from connectors.sms.console import ConsoleGateway
from reminders.bootstrap import Services, build_services
from reminders.settings import Settings
from reminders.web.app import create_app
from reminders.web.routes import endpoints
from scheduler.clock import ReminderClock
from scheduler.worker import single_worker_lock
from tests.support.databases import fresh_sqlite, skip_or_fail
from tests.support.server import free_port, live_server

CHROMIUM_ENV = "REMINDERS_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
ARTIFACTS_ENV = "REMINDERS_ARTIFACTS_DIR"
REPO = Path(__file__).resolve().parents[2]
# Browser tests start at 09:00 in Zurich, so quiet hours (21-08) never depend on when they run.
START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


class ShiftedClock:
    """Real time moved to a fixed start: it ticks like a real clock, and a test can jump ahead.

    Ticking matters because the in-process scheduler waits in real time for reminders that fall
    due within a second; a frozen clock would keep it waiting.
    """

    def __init__(self, start: datetime = START) -> None:
        self._offset = start - datetime.now(UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> datetime:
        """Jump forward by `delta`; returns the new time."""
        with self._lock:
            self._offset += delta
        return self()


@dataclass
class LiveApp:
    """The app as a browser sees it, and the services behind it."""

    base_url: str
    app: FastAPI
    services: Services
    clock: ShiftedClock
    gateway: ConsoleGateway

    def url(self, path: str) -> str:
        return self.base_url + path


@dataclass(frozen=True)
class GetRoute:
    """A GET route of the app: its full path and the route that serves it."""

    path: str
    route: APIRoute


def get_routes(app: FastAPI) -> list[GetRoute]:
    """Every GET route of the app, including those of included routers."""
    pairs = endpoints(app)
    return [GetRoute(path, route) for path, route in pairs if "GET" in (route.methods or ())]


@contextmanager
def serve_app(database_url: str, data_dir: Path, *, scheduler: bool) -> Iterator[LiveApp]:
    """Serve `create_app` on loopback; with `scheduler`, run the scheduler in-process as `reminders serve`
    does (the single-worker lock, then `ReminderClock`, stopped after the server)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = Settings(
        env="test",
        database_url=database_url,
        data_dir=data_dir,
        public_url=base_url,
        ics_allow_private_networks=True,  # the test feeds are served on loopback
    )
    clock = ShiftedClock()
    gateway = ConsoleGateway(quiet=True)
    services = build_services(settings, gateway=gateway, clock=clock)
    app = create_app(services)
    try:
        with ExitStack() as stack:
            if scheduler:
                stack.enter_context(single_worker_lock(settings))
                reminder_clock = ReminderClock(services)
                reminder_clock.start()
                stack.callback(reminder_clock.shutdown)
            stack.enter_context(live_server(app, port))
            yield LiveApp(base_url, app, services, clock, gateway)
    finally:
        services.close()


@pytest.fixture
def live_app(tmp_path: Path, sqlite_template: Path) -> Iterator[LiveApp]:
    """The app on a fresh migrated SQLite database, with the in-process scheduler running."""
    with serve_app(fresh_sqlite(sqlite_template, tmp_path), tmp_path / "data", scheduler=True) as running:
        yield running


# --- the browser --------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def chromium_executable() -> str:
    """Debian's Chromium (or REMINDERS_CHROMIUM); skipped when missing, a failure when CI=true."""
    path = os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        skip_or_fail(
            f"Chromium not installed: apt-get install chromium (looked for {path}, see {CHROMIUM_ENV})"
        )
    return path


@pytest.fixture(scope="package")
def browser(chromium_executable: str) -> Iterator[Browser]:
    """One headless Chromium for the browser tests (package scope: Playwright's event loop must not
    outlive them, other tests run asyncio loops of their own)."""
    args = ["--disable-dev-shm-usage"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_executable, args=args)
        yield launched
        launched.close()


# --- what every page must not do ----------------------------------------------------------------


@dataclass
class PageGuard:
    """Collects console errors, uncaught exceptions and 5xx answers of the pages it watches.

    A page answered with 4xx on purpose (a form re-shown with errors: 422, a missing row: 404)
    makes Chromium log "Failed to load resource" for the document; that one message is expected.
    The same message for a script, a stylesheet or a fetch() is an error.
    """

    _errors: list[tuple[str, str, str]] = field(default_factory=list)  # (page, text, resource url)
    _problems: list[str] = field(default_factory=list)
    _answered_4xx: set[str] = field(default_factory=set)

    def watch(self, page: Page) -> Page:
        def console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self._errors.append((page.url, message.text, str(message.location.get("url", ""))))

        def page_error(error: Error) -> None:
            self._problems.append(f"uncaught error on {page.url}: {error.message}")

        def response(answer: Response) -> None:
            if answer.status >= 500:
                self._problems.append(f"{answer.status} for {answer.request.method} {answer.url}")
            elif answer.status >= 400 and answer.request.is_navigation_request():
                self._answered_4xx.add(answer.url)

        page.on("console", console)
        page.on("pageerror", page_error)
        page.on("response", response)
        return page

    def problems(self) -> list[str]:
        """What went wrong so far (and forget it, so it is reported once)."""
        found = list(self._problems)
        for where, text, resource in self._errors:
            if text.startswith("Failed to load resource") and resource in self._answered_4xx:
                continue
            found.append(f"console error on {where}: {text}" + (f" ({resource})" if resource else ""))
        self._problems.clear()
        self._errors.clear()
        return found

    def check(self) -> None:
        """Fail now if anything went wrong on the watched pages."""
        found = self.problems()
        assert not found, "The pages reported errors:\n" + "\n".join(found)


@pytest.fixture
def guard() -> Iterator[PageGuard]:
    """Watch pages with `guard.watch(page)`; the test fails at teardown if any reported an error."""
    watching = PageGuard()
    yield watching
    watching.check()


# --- screenshots --------------------------------------------------------------------------------


def artifacts_dir() -> Path:
    """Where test artifacts go: REMINDERS_ARTIFACTS_DIR, else test-artifacts/ at the repository root."""
    configured = os.environ.get(ARTIFACTS_ENV)
    return Path(configured) if configured else REPO / "test-artifacts"


@dataclass(frozen=True)
class Screenshots:
    """Full-page screenshots of one test module, named by step."""

    directory: Path

    def take(self, page: Page, name: str) -> Path:
        path = self.directory / f"{name}.png"
        page.screenshot(path=path, full_page=True)
        return path


@pytest.fixture(scope="module")
def screenshots(request: pytest.FixtureRequest) -> Screenshots:
    """Screenshots into <artifacts>/screenshots/<module>/, e.g. screenshots/journey/01-signup.png;
    the module's screenshots of an earlier run are removed first."""
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    directory = artifacts_dir() / "screenshots" / module
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.png"):
        old.unlink()
    return Screenshots(directory)
