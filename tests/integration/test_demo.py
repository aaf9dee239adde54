"""`reminders demo` loads a salon whose reminders start flowing within minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from connectors.sms.console import ConsoleGateway
from reminders.bootstrap import Services
from reminders.demo import database_is_empty, load_demo
from reminders.dispatch.service import Outcome
from reminders.models import Account, Appointment, Reminder
from reminders.reasons import ReminderState, SkipReason
from tests.support.clock import FakeClock


def test_the_demo_salon_has_every_case_and_two_reminders_due_within_five_minutes(
    services: Services, clock: FakeClock, gateway: ConsoleGateway
) -> None:
    assert database_is_empty(services)
    summary = load_demo(services)

    assert not database_is_empty(services)
    assert summary.sync.error is None
    assert summary.quiet_hours_note is None  # 10:00 in Zurich
    with services.factory.begin() as session:
        account = session.get_one(Account, summary.account_id)
        assert (account.name, account.credit_balance) == ("Demo Salon", 10)
        appointments = session.scalars(select(Appointment)).all()
        by_id = {a.external_id: a for a in appointments}
        reminders = session.scalars(select(Reminder)).all()
    assert 18 <= len(appointments) <= 24
    assert by_id["demo-landline"].recipient_reason == "landline"
    assert by_id["demo-no-number"].recipient_reason == "no_number"
    assert by_id["demo-cancelled"].status == "cancelled"
    assert len([a for a in appointments if a.series_id == "demo-weekly"]) == 3
    assert sum(a.recipient is not None for a in appointments) >= 15
    soon = sorted(
        r.due_at
        for r in reminders
        if r.state == ReminderState.SCHEDULED and r.due_at and r.due_at <= clock() + timedelta(minutes=5)
    )
    assert len(soon) == 2

    clock.advance(timedelta(minutes=5))
    assert services.dispatcher().run_once() == {Outcome.SENT: 2}
    assert [m.sms.to for m in gateway.outbox] == ["+41791112233", "+41782223344"]
    assert all("Demo Salon" in m.sms.body for m in gateway.outbox)


def test_at_night_the_demo_switches_quiet_hours_off_so_it_still_shows_something(
    services: Services, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 11, 24, 22, 30, tzinfo=UTC))  # 23:30 in Zurich
    summary = load_demo(services)

    assert summary.quiet_hours_note is not None
    with services.factory.begin() as session:
        due_soon = session.scalar(
            select(func.count()).where(
                Reminder.state == ReminderState.SCHEDULED, Reminder.due_at <= clock() + timedelta(minutes=5)
            )
        )
        soon_24h = session.scalars(
            select(Reminder.reason)
            .join(Appointment, Reminder.appointment_id == Appointment.id)
            .where(Appointment.external_id.like("demo-soon-%"), Reminder.state == ReminderState.SKIPPED)
        ).all()
    assert due_soon == 2
    # 24 h before a start two hours away: that time had passed before the demo calendar was read
    assert soon_24h == [SkipReason.BEFORE_CONNECTED, SkipReason.BEFORE_CONNECTED]
