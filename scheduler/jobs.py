"""Thin jobs: each opens what it needs and calls one service."""

from __future__ import annotations

import logging
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


def sync_calendars(services: Services, wake_dispatch: Callable[[datetime], None]) -> None:
    """Sync the calendars that are due; wake the dispatcher if something falls due now."""
    for report in calendar_service.sync_due(services):
        if report.earliest_due is not None:
            wake_dispatch(report.earliest_due)
