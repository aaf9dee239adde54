"""Plan appointments that were stored beyond the planning horizon once they come within it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, sessionmaker

from reminders.batching import chunks
from reminders.models import Account, Appointment, CalendarConnection, Reminder, ReminderRuleRow
from reminders.planning.reconcile import NewReminders, ReconcileCounts, policy_for, reconcile, rules_from_rows
from reminders.planning.rules import ReminderRule
from reminders.reasons import ReminderState


def unplanned_within(session: Session, *, now: datetime, horizon: timedelta, limit: int) -> list[int]:
    """Confirmed appointments inside the horizon without a reminder for their start.

    Only calendars with rules count, or appointments of rule-less calendars would be picked every time.
    """
    has_reminder = exists().where(
        Reminder.appointment_id == Appointment.id,
        Reminder.for_starts_at == Appointment.starts_at,
        Reminder.state != ReminderState.CANCELLED,
    )
    has_rules = exists().where(
        and_(ReminderRuleRow.calendar_id == Appointment.calendar_id, ReminderRuleRow.active.is_(True))
    )
    stmt = (
        select(Appointment.id)
        .join(CalendarConnection, Appointment.calendar_id == CalendarConnection.id)
        .where(
            Appointment.status == "confirmed",
            Appointment.starts_at >= now,
            Appointment.starts_at < now + horizon,
            CalendarConnection.disconnected_at.is_(None),
            has_rules,
            ~has_reminder,
        )
        .order_by(Appointment.starts_at)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def plan_entering_horizon(
    factory: sessionmaker[Session], *, now: datetime, horizon: timedelta, batch: int = 500
) -> ReconcileCounts:
    """Plan reminders for every appointment that came within the horizon since it was stored."""
    total = ReconcileCounts()
    while True:
        with factory.begin() as session:
            ids = unplanned_within(session, now=now, horizon=horizon, limit=batch)
            for chunk in chunks(ids):
                total.add(plan_appointments(session, chunk, now))
        if len(ids) < batch:
            return total


def plan_appointments(session: Session, ids: Sequence[int], now: datetime) -> ReconcileCounts:
    """Plan (create, move, skip or cancel) the reminders of these appointments against their rules."""
    counts = ReconcileCounts()
    rows = session.execute(
        select(Appointment, CalendarConnection, Account)
        .join(CalendarConnection, Appointment.calendar_id == CalendarConnection.id)
        .join(Account, CalendarConnection.account_id == Account.id)
        .where(Appointment.id.in_(ids))
    ).all()
    existing: dict[int, list[Reminder]] = {}
    for reminder in session.scalars(select(Reminder).where(Reminder.appointment_id.in_(ids))):
        existing.setdefault(reminder.appointment_id, []).append(reminder)
    rules_by_calendar: dict[int, list[ReminderRule]] = {}
    new = NewReminders()
    for appointment, connection, account in rows:
        if connection.id not in rules_by_calendar:
            rule_rows = session.scalars(
                select(ReminderRuleRow).where(ReminderRuleRow.calendar_id == connection.id)
            )
            rules_by_calendar[connection.id] = list(rules_from_rows(rule_rows))
        rules = rules_by_calendar[connection.id]
        policy = policy_for(account, connection, now=now)
        counts.add(reconcile(appointment, existing.get(appointment.id, ()), rules, policy, now=now, new=new))
    session.flush()
    new.insert(session)
    return counts
