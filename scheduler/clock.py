"""APScheduler is the clock; the reminder table is the queue (architecture.md, "Scheduling")."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from reminders.bootstrap import Services
from scheduler import jobs

log = logging.getLogger(__name__)

DISPATCH_JOB = "dispatch_due"
SYNC_JOB = "sync_calendars"


class ReminderClock:
    """The in-memory APScheduler jobs of one worker process."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._dispatch = jobs.DispatchDue(services)
        self._sync = jobs.SyncDue(services, self.wake_dispatch)
        services.wake_sync = self.wake_sync
        # APScheduler logs every job it adds and warns on every tick that finds dispatch still
        # running (max_instances=1 is the point); job errors still come through its executor.
        logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
        logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        # Dispatch ticks every second and re-arms itself earlier when woken.
        self.scheduler.add_job(self._dispatch, "interval", seconds=1, id=DISPATCH_JOB, next_run_time=_now())
        self.scheduler.add_job(self._sync, "interval", seconds=5, id=SYNC_JOB, next_run_time=_now(), jitter=2)
        self.scheduler.add_job(
            jobs.recover_leases, "interval", seconds=30, id="recover_leases", args=[services]
        )
        self.scheduler.add_job(
            jobs.renew_channels, "interval", minutes=10, id="renew_channels", args=[services]
        )
        self.scheduler.add_job(
            jobs.plan_entering_horizon, "interval", hours=1, id="plan_entering_horizon", args=[services]
        )

    def start(self) -> None:
        """Start the jobs in background threads."""
        self.scheduler.start()
        log.info("scheduler.started")

    def wake_sync(self, at: datetime) -> None:
        """Run the sync job at `at` (a push notification asked for a sync)."""
        job = self.scheduler.get_job(SYNC_JOB)
        if job is not None and (job.next_run_time is None or job.next_run_time > at):
            self.scheduler.modify_job(SYNC_JOB, next_run_time=at)

    def wake_dispatch(self, due_at: datetime) -> None:
        """Run `dispatch_due` now if something falls due within the next second."""
        if due_at <= _now() + timedelta(seconds=1):
            self.scheduler.modify_job(DISPATCH_JOB, next_run_time=_now())

    def shutdown(self) -> None:
        """Stop the clock and wait for sends in flight."""
        self.scheduler.shutdown(wait=True)
        self._sync.shutdown()
        self._dispatch.shutdown()
        log.info("scheduler.stopped")


def _now() -> datetime:
    return datetime.now(UTC)
