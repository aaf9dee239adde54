"""APScheduler drives the real loop: a reminder planned by another process goes out by itself."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.calendars.memory import InMemoryCalendar
from connectors.sms.console import ConsoleGateway
from reminders.bootstrap import build_services
from reminders.calendars.sync import sync_connection
from reminders.models import Reminder
from reminders.reasons import ReminderState
from reminders.settings import Settings
from scheduler.clock import ReminderClock
from scheduler.worker import WorkerAlreadyRunning, single_worker_lock
from tests.support.factories import event, make_account, make_calendar
from tests.support.reading import wait_for


def test_the_clock_sends_a_reminder_when_it_falls_due(settings: Settings) -> None:
    gateway = ConsoleGateway(quiet=True)
    services = build_services(settings, gateway=gateway)  # the real clock
    clock = ReminderClock(services)
    try:
        with services.factory.begin() as session:
            # No quiet hours: the test must not depend on the time of day it runs at.
            account = make_account(
                session, credit_balance=5, now=datetime.now(UTC), quiet_start=time(0, 0), quiet_end=time(0, 0)
            )
            calendar_id = make_calendar(session, account, rules=((2, "hours"),)).id
        clock.start()
        # Planned "by another process" while the clock runs: due one and a half seconds from now.
        start = datetime.now(UTC) + timedelta(hours=2, seconds=1.5)
        sync_connection(
            services.factory,
            calendar_id,
            InMemoryCalendar([event("a", start)]),
            now=datetime.now(UTC),
            horizon_days=60,
        )

        def sent() -> list[Reminder]:
            with services.factory.begin() as session:
                return list(session.scalars(select(Reminder).where(Reminder.state == ReminderState.SENT)))

        assert wait_for(lambda: len(sent()) == 1)
        (reminder,) = sent()
        assert len(gateway.outbox) == 1
        assert reminder.sent_at is not None
        assert reminder.due_at is not None
        assert reminder.sent_at >= reminder.due_at
    finally:
        clock.shutdown()
        services.close()


def test_sqlite_allows_exactly_one_worker(tmp_path: Path) -> None:
    settings = Settings(env="test", database_url=f"sqlite:///{tmp_path / 'one.db'}")
    with (
        single_worker_lock(settings),
        pytest.raises(WorkerAlreadyRunning, match="exactly one"),
        single_worker_lock(settings),
    ):
        pass
