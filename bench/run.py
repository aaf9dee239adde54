"""Benchmarks of the reminder pipeline: ICS sync of a large feed, dispatch of many due reminders.

    python -m bench.run [--database-url URL] [--events 10000] [--reminders 10000]

Without --database-url a fresh SQLite file in a temporary directory is used. Figures go to
stdout; docs/performance.md records them with the command that produced them.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from sqlalchemy import create_engine, func, select, text, update

from connectors.calendars.ics import IcsCalendarSource
from connectors.sms.console import ConsoleGateway
from reminders.batching import chunks
from reminders.billing import credit
from reminders.bootstrap import Services, build_services
from reminders.calendars.service import sync_one
from reminders.calendars.sync import SyncReport, sync_connection
from reminders.dispatch.service import Dispatcher, DispatchPolicy
from reminders.migrations import upgrade
from reminders.models import Account, CalendarConnection, Reminder, ReminderRuleRow, SendAttempt
from reminders.reasons import ReminderState
from reminders.settings import Settings
from tests.support.factories import make_account, make_oauth_calendar

T = TypeVar("T")
NOW = datetime.now(UTC).replace(microsecond=0)
ZURICH = ZoneInfo("Europe/Zurich")


def timed(label: str, action: Callable[[], T]) -> tuple[T, float]:
    """Run `action` once and print how long it took."""
    started = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - started
    print(f"  {label:<52} {elapsed:8.3f} s")
    return result, elapsed


def big_feed(path: Path, events: int, *, changed: int = 0) -> None:
    """An ICS feed of `events` appointments over the next 60 days, each with a mobile number."""
    calendar = Calendar()
    calendar.add("prodid", "-//reminders//bench//EN")
    calendar.add("version", "2.0")
    base = NOW.astimezone(ZURICH).replace(hour=8, minute=0, second=0)
    for i in range(events):
        event = Event()
        start = base + timedelta(days=1 + i % 59, minutes=15 * (i % 40))
        if i < changed:
            start += timedelta(hours=1)
        event.add("uid", f"bench-{i}@reminders")
        event.add("summary", f"Termin {i} Kundin {i % 997}")
        event.add(
            "location", f"07{8 + i % 2} {100 + i % 900:03d} {10 + i % 90:02d} {10 + (i // 90) % 90:02d}"
        )
        event.add("description", f"<p>Behandlung {i}<br>Bitte 10 Minuten vorher da sein.</p>")
        event.add("dtstart", start)
        event.add("dtend", start + timedelta(minutes=45))
        event.add("dtstamp", NOW)
        calendar.add_component(event)
    path.write_bytes(calendar.to_ical())


def oauth_calendar(
    services: Services, *, provider: str, external_id: str, subject: str, token_json: str
) -> int:
    """An account with one Google or Microsoft calendar (grant encrypted, rules 24 h and 2 h); its id."""
    with services.factory.begin() as session:
        account = make_account(session, name="Bench")
        connection = make_oauth_calendar(
            session, services.cipher, account, provider=provider, external_id=external_id, subject=subject,
            token_json=token_json, rules=((24, "hours"), (2, "hours")),
        )  # fmt: skip
        return connection.id


def time_full_then_changes(
    services: Services, connection_id: int, *, label: str, change: Callable[[], None]
) -> None:
    """Time a first sync of the calendar, apply `change` at the provider, and time the next sync."""
    full, _ = timed(
        f"{label} first sync (pages, store, numbers, plan)", lambda: sync_one(services, connection_id)
    )
    assert full.error is None, full.error
    print(f"  created {full.created}, reminders planned {full.reminders.planned}")
    change()
    changed, _ = timed(f"{label} sync of 10 moved events", lambda: sync_one(services, connection_id))
    assert changed.error is None, changed.error
    print(f"  updated {changed.updated}, reminders moved {changed.reminders.moved}")


def fresh_database(url: str | None, workdir: Path) -> str:
    """A migrated, empty database."""
    if url is None:
        url = f"sqlite:///{workdir / 'bench.db'}"
        upgrade(url)
        return url
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(url)
    return url


def setup_account(services: Services, feed: Path, *, credit_amount: int) -> int:
    with services.factory.begin() as session:
        account = Account(name="Bench Praxis")
        session.add(account)
        session.flush()
        connection = CalendarConnection(
            account_id=account.id, provider="ics", external_id=str(feed), name="Bench"
        )
        session.add(connection)
        session.flush()
        session.add_all(
            [
                ReminderRuleRow(calendar_id=connection.id, kind="before", amount=24, unit="hours"),
                ReminderRuleRow(calendar_id=connection.id, kind="before", amount=2, unit="hours"),
            ]
        )
        credit.grant(session, account.id, credit_amount, kind="grant", now=NOW)
        return connection.id


def bench_sync(services: Services, workdir: Path, events: int) -> None:
    print(f"ICS sync, {events} events, 2 rules")
    feed = workdir / "big.ics"
    timed("generate feed", lambda: big_feed(feed, events))
    print(f"  feed size: {feed.stat().st_size / 1e6:.1f} MB")
    calendar_id = setup_account(services, feed, credit_amount=1)

    def sync() -> SyncReport:
        return sync_connection(
            services.factory, calendar_id, IcsCalendarSource(str(feed)), now=NOW, horizon_days=60
        )

    first, _ = timed("first sync (parse, store, plan)", sync)
    assert first.error is None, first.error
    print(
        f"  created {first.created}, reminders planned {first.reminders.planned}, "
        f"skipped {first.reminders.skipped}"
    )
    again, _ = timed("re-sync, feed unchanged", sync)
    assert again.unchanged
    big_feed(feed, events, changed=10)
    changed, _ = timed("re-sync, 10 events moved (full re-parse)", sync)
    print(f"  updated {changed.updated}, reminders moved {changed.reminders.moved}")


def bench_dispatch(services: Services, count: int) -> None:
    print(f"dispatch, {count} due reminders, console gateway, {services.settings.dispatch_threads} threads")
    with services.factory.begin() as session:
        # Make `count` scheduled reminders due now (taken from the synced appointments).
        ids = session.scalars(
            select(Reminder.id)
            .where(Reminder.state == ReminderState.SCHEDULED)
            .order_by(Reminder.id)
            .limit(count)
        ).all()
        for chunk in chunks(ids):
            session.execute(
                update(Reminder).where(Reminder.id.in_(chunk)).values(due_at=NOW - timedelta(seconds=1))
            )
        account = session.scalars(select(Account)).one()
        credit.grant(session, account.id, count * 2, kind="grant", now=NOW)
    gateway = ConsoleGateway(quiet=True, keep=count)
    dispatcher = Dispatcher(
        services.factory,
        gateway,
        owner="bench",
        clock=lambda: NOW,
        policy=DispatchPolicy(batch_size=services.settings.dispatch_batch_size),
    )
    pool = ThreadPoolExecutor(services.settings.dispatch_threads)

    def drain() -> int:
        sent = 0
        while counts := dispatcher.run_once(pool):
            sent += sum(counts.values())
        return sent

    processed, elapsed = timed("claim, gate, debit, send, record", drain)
    with services.factory.begin() as session:
        attempts = session.scalar(select(func.count()).select_from(SendAttempt))
    print(f"  processed {processed}, send attempts {attempts}, {processed / elapsed:,.0f} reminders/s")
    pool.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--reminders", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url = fresh_database(args.database_url, workdir)
        print(f"database: {url.split('://')[0]}")
        services = build_services(
            Settings(env="test", database_url=url, data_dir=workdir), gateway=ConsoleGateway()
        )
        try:
            bench_sync(services, workdir, args.events)
            bench_dispatch(services, args.reminders)
        finally:
            services.close()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS: {rss:.0f} MB")


if __name__ == "__main__":
    main()
