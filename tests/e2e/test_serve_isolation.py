"""One tenant's calendar never stalls the others: `reminders serve` as a separate process.

A huge calendar is written in short transactions (another process sees it grow, and another
tenant connects a calendar and gets its reminder while it is still being written), and a feed
that drips one byte at a time is cut off at its deadline while the other calendars keep syncing.
On SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

from reminders.models import Account, Appointment, CalendarConnection, Reminder
from tests.support.factories import make_account, make_calendar
from tests.support.feeds import FOOTER, HEADER, lean_feed, vevent
from tests.support.http_feed import FeedState, feed_server
from tests.support.processes import reminders_env, serving
from tests.support.reading import wait_for
from tests.support.web import PASSWORD, WebClient, make_user

HUGE = 24_000
ZURICH = ZoneInfo("Europe/Zurich")


@contextmanager
def serve(database_url: str, tmp_path: Path, **settings: str) -> Iterator[str]:
    """`reminders serve` on `database_url`, reading loopback feeds; yields its base URL."""
    env = reminders_env(tmp_path, ics_allow_private_networks="true", **settings)
    env["REMINDERS_DATABASE_URL"] = database_url
    with serving("serve", env, tmp_path / "serve.log") as base:
        yield base


def tenant(engine: Engine, name: str, feed: str, *, owner: str | None = None) -> int:
    """An account (quiet hours far from now) with one ICS calendar reminding 24 h before; its id."""
    local = datetime.now(ZURICH)
    with Session(engine) as session, session.begin():
        account = make_account(
            session,
            name=name,
            credit_balance=10,
            now=datetime.now(UTC),
            quiet_start=time((local.hour + 6) % 24),
            quiet_end=time((local.hour + 7) % 24),
        )
        if owner:
            make_user(session, account, email=owner)
        return make_calendar(session, account, rules=((24, "hours"),), external_id=feed, name=name).id


def count_appointments(engine: Engine, calendar_id: int) -> int:
    with engine.connect() as connection:
        stmt = select(func.count()).select_from(Appointment).where(Appointment.calendar_id == calendar_id)
        return connection.scalar(stmt) or 0


def connection_row(engine: Engine, calendar_id: int) -> tuple[datetime | None, str | None]:
    with engine.connect() as connection:
        row = connection.execute(
            select(CalendarConnection.last_synced_at, CalendarConnection.last_sync_error).where(
                CalendarConnection.id == calendar_id
            )
        ).one()
    return row[0], row[1]


def sent_for_account(engine: Engine, account_name: str) -> int:
    stmt = (
        select(func.count())
        .select_from(Reminder)
        .join(Appointment, Reminder.appointment_id == Appointment.id)
        .join(CalendarConnection, Appointment.calendar_id == CalendarConnection.id)
        .join(Account, CalendarConnection.account_id == Account.id)
        .where(Account.name == account_name, Reminder.state == "sent")
    )
    with engine.connect() as connection:
        return connection.scalar(stmt) or 0


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    built = create_engine(database_url)
    yield built
    built.dispose()


def test_a_huge_calendar_never_stalls_another_tenant(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    huge_feed = tmp_path / "huge.ics"
    huge_feed.write_text(lean_feed(HUGE, datetime.now(UTC)), encoding="utf-8", newline="")
    huge = tenant(engine, "Grossklinik", str(huge_feed))
    tenant(engine, "Salon Klein", str(tmp_path / "unused.ics"), owner="owner@klein.example")
    small = FeedState()

    with serve(database_url, tmp_path, sync_batch_size="100") as base, feed_server(small) as small_url:
        with httpx.Client(base_url=base, timeout=60, headers={"Accept-Language": "en"}) as client:
            web = WebClient(client)
            web.sign_in("owner@klein.example", PASSWORD)
            # Another process sees the huge calendar grow batch by batch (one transaction: 0, then all).
            assert wait_for(lambda: count_appointments(engine, huge) > 0, seconds=120, interval=0.02)
            partial = count_appointments(engine, huge)
            # Meanwhile the other tenant connects a calendar: its page writes and its first sync.
            start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=24, seconds=3)
            small.body = (HEADER + vevent("x@klein", start, location="079 123 45 67") + FOOTER).encode()
            connected = web.post("/calendars/ics", {"url": small_url, "name": "Stuhl 1"})
            while_writing = count_appointments(engine, huge)
        assert connected.status_code == 303, connected.text
        # ...and its reminder goes out.
        assert wait_for(lambda: sent_for_account(engine, "Salon Klein") == 1, seconds=60, interval=0.05)
        assert wait_for(lambda: connection_row(engine, huge)[0] is not None, seconds=300, interval=0.2)

    assert 0 < partial < HUGE
    assert while_writing < HUGE, "the other tenant's calendar was connected only after the huge sync"
    assert count_appointments(engine, huge) == HUGE
    assert connection_row(engine, huge)[1] is None


def test_a_slow_drip_feed_is_cut_off_and_never_delays_other_calendars(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    body = (HEADER + vevent("slow@drip", soon, location="079 123 45 67") + FOOTER).encode()
    drip = FeedState(body=body, drip_seconds=0.2)  # the whole body would take over a minute
    fine_feed = tmp_path / "fine.ics"
    fine_feed.write_text(HEADER + vevent("fine@salon", soon, location="079 765 43 21") + FOOTER)

    with feed_server(drip) as drip_url:
        slow = tenant(engine, "Tropf", drip_url)  # first in line: synced before the other
        fine = tenant(engine, "Salon Fein", str(fine_feed))
        with serve(database_url, tmp_path, ics_fetch_deadline_seconds="8"):
            assert wait_for(lambda: bool(drip.requests), seconds=60)
            assert wait_for(lambda: count_appointments(engine, fine) == 1, seconds=60, interval=0.05)
            slow_state_then = connection_row(engine, slow)
            assert wait_for(lambda: connection_row(engine, slow)[1] is not None, seconds=60, interval=0.1)

    assert slow_state_then == (None, None), "the other calendar waited for the dripping feed"
    error = connection_row(engine, slow)[1]
    assert error is not None
    assert "did not send the calendar within 8 s" in error
    assert count_appointments(engine, slow) == 0
