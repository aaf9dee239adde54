"""The worker process (`reminders worker`), and the single-worker rule for SQLite."""

from __future__ import annotations

import fcntl
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from reminders.bootstrap import Services
from reminders.settings import Settings
from scheduler.clock import ReminderClock

log = logging.getLogger(__name__)


class WorkerAlreadyRunning(RuntimeError):
    """Another worker already serves this SQLite database."""


@contextmanager
def single_worker_lock(settings: Settings) -> Iterator[None]:
    """On SQLite exactly one worker may run: hold an exclusive lock file beside the database."""
    if not settings.is_sqlite:
        yield  # PostgreSQL: any number of workers share the queue with SKIP LOCKED
        return
    database = make_url(settings.database_url).database or "reminders.db"
    lock_path = Path(database).with_suffix(".worker.lock")
    with open(lock_path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise WorkerAlreadyRunning(
                f"Another worker is already running on {database}; SQLite allows exactly one "
                "(use PostgreSQL to run several)."
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_worker(services: Services) -> None:
    """Run the scheduler until SIGINT/SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with single_worker_lock(services.settings):
        clock = ReminderClock(services)
        clock.start()
        try:
            stop.wait()
        finally:
            clock.shutdown()
