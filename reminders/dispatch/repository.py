"""Queries of the dispatch queue (the reminder table)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from reminders.models import Account, Appointment, CalendarConnection, Reminder, SendAttempt
from reminders.reasons import ReminderState


def claim_due(session: Session, *, now: datetime, owner: str, lease: timedelta, limit: int) -> list[int]:
    """Mark up to `limit` due reminders as queued for `owner` and return their ids.

    One statement: on PostgreSQL the inner SELECT skips rows another worker has locked; on
    SQLite the whole transaction holds the write lock (BEGIN IMMEDIATE), which is as exclusive.
    """
    due = (
        select(Reminder.id)
        .where(Reminder.state == ReminderState.SCHEDULED, Reminder.due_at <= now)
        .order_by(Reminder.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(Reminder)
        .where(Reminder.id.in_(due.scalar_subquery()))
        .values(state=ReminderState.QUEUED, lease_owner=owner, lease_until=now + lease, updated_at=now)
        .returning(Reminder.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(session.scalars(stmt).all())


def earliest_due(session: Session) -> datetime | None:
    """The due time of the next scheduled reminder, if any."""
    return session.scalar(select(func.min(Reminder.due_at)).where(Reminder.state == ReminderState.SCHEDULED))


def lock_claimed(
    session: Session, ids: Sequence[int], *, owner: str
) -> list[tuple[Reminder, Appointment, CalendarConnection, Account]]:
    """Lock the reminders `owner` still holds (queued) and their accounts, with all that gating needs."""
    stmt = (
        select(Reminder, Appointment, CalendarConnection, Account)
        .join(Appointment, Reminder.appointment_id == Appointment.id)
        .join(CalendarConnection, Appointment.calendar_id == CalendarConnection.id)
        .join(Account, CalendarConnection.account_id == Account.id)
        .where(Reminder.id.in_(ids), Reminder.state == ReminderState.QUEUED, Reminder.lease_owner == owner)
        .order_by(Reminder.id)
        .with_for_update(of=[Reminder, Account])
    )
    return [(r, a, c, acc) for r, a, c, acc in session.execute(stmt).all()]


def lock_sending(session: Session, ids: Sequence[int]) -> dict[int, Reminder]:
    """Lock the reminders among `ids` that are still being sent, by id."""
    stmt = (
        select(Reminder)
        .where(Reminder.id.in_(ids), Reminder.state == ReminderState.SENDING)
        .order_by(Reminder.id)
        .with_for_update()
    )
    return {r.id: r for r in session.scalars(stmt)}


def expired_leases(session: Session, *, now: datetime, limit: int = 500) -> Sequence[Reminder]:
    """Queued or sending reminders whose worker stopped renewing (it died)."""
    stmt = (
        select(Reminder)
        .where(Reminder.state.in_([ReminderState.QUEUED, ReminderState.SENDING]), Reminder.lease_until < now)
        .order_by(Reminder.lease_until)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return session.scalars(stmt).all()


def latest_attempt(session: Session, reminder_id: int) -> SendAttempt | None:
    """The newest send attempt of a reminder."""
    stmt = (
        select(SendAttempt).where(SendAttempt.reminder_id == reminder_id).order_by(SendAttempt.number.desc())
    )
    return session.scalars(stmt.limit(1)).first()
