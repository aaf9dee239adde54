"""Thin jobs: each opens what it needs and calls one service."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from reminders.bootstrap import Services
from reminders.calendars import google_link, microsoft_link
from reminders.calendars import service as calendar_service
from reminders.planning import horizon as horizon_planning

log = logging.getLogger(__name__)

# The dispatch loop looks at most this far ahead before handing control back to the clock,
# so reminders planned by another process are seen within a second.
LOOKAHEAD = timedelta(seconds=1)


class DispatchDue:
    """The `dispatch_due` job: send what is due, then keep going while more falls due within a second."""

    def __init__(self, services: Services, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._services = services
        self._dispatcher = services.dispatcher()
        self._pool = ThreadPoolExecutor(services.settings.dispatch_threads, thread_name_prefix="dispatch")
        self._sleep = sleep

    def __call__(self) -> None:
        clock = self._services.clock
        horizon = clock() + LOOKAHEAD
        while True:
            counts = self._dispatcher.run_once(self._pool)
            if counts:
                log.info("dispatch.batch %s", " ".join(f"{k}={v}" for k, v in counts.items()))
            if sum(counts.values()) >= self._services.settings.dispatch_batch_size:
                continue  # a full batch: more may be due right now
            upcoming = self._dispatcher.earliest_due()
            now = clock()
            if upcoming is None or upcoming > horizon:
                return
            self._sleep(max(0.0, (upcoming - now).total_seconds()))

    def shutdown(self) -> None:
        """Wait for sends in flight, then stop the pool."""
        self._pool.shutdown(wait=True)


def recover_leases(services: Services) -> None:
    """Settle reminders left queued or sending by a worker that died."""
    settled = services.dispatcher().recover_leases()
    if settled:
        log.warning("dispatch.leases.recovered count=%s", settled)


def renew_channels(services: Services) -> None:
    """Replace Google channels and renew Graph subscriptions before they expire (polling covers any gap)."""
    renewed = google_link.renew_channels(services) + microsoft_link.renew_subscriptions(services)
    if renewed:
        log.info("push.channels.renewed count=%s", renewed)


def plan_entering_horizon(services: Services) -> None:
    """Plan appointments that were stored beyond the horizon and have now come within it."""
    horizon = timedelta(days=services.settings.planning_horizon_days)
    counts = horizon_planning.plan_entering_horizon(services.factory, now=services.clock(), horizon=horizon)
    if counts.planned or counts.skipped:
        log.info("planning.horizon planned=%s skipped=%s", counts.planned, counts.skipped)


class SyncDue:
    """The `sync_calendars` job: claim the calendars that are due and sync them side by side.

    The job only claims and hands out, and returns at once: a slow calendar (a feed that drips,
    a huge parse) occupies one of the pool's threads, never the job or the other calendars. It
    claims no more calendars than it has free threads, so the rest stay due for another worker.
    """

    def __init__(self, services: Services, wake_dispatch: Callable[[datetime], None]) -> None:
        self._services = services
        self._wake_dispatch = wake_dispatch
        self._threads = services.settings.sync_threads
        self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="sync")
        self._lock = threading.Lock()
        self._running: set[int] = set()

    def __call__(self) -> None:
        with self._lock:
            free = self._threads - len(self._running)
        if free <= 0:
            return
        for connection_id in calendar_service.claim_due_connections(self._services, limit=free):
            with self._lock:
                if connection_id in self._running:
                    continue  # still syncing from an earlier claim; its end sets the next time
                self._running.add(connection_id)
            self._pool.submit(self._sync, connection_id)

    def _sync(self, connection_id: int) -> None:
        try:
            report = calendar_service.sync_one(self._services, connection_id)
            if report.earliest_due is not None:
                self._wake_dispatch(report.earliest_due)
        except Exception:  # sync_one records provider trouble itself; this is a bug, keep going
            log.exception("calendar.sync.crashed calendar=%s", connection_id)
        finally:
            with self._lock:
                self._running.discard(connection_id)

    def shutdown(self) -> None:
        """Drop syncs not started yet and wait for those in flight (each is bounded by deadlines)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
