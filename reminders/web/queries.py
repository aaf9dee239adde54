"""Read models shared by the pages: the account, its calendars, the next reminders, appointments at risk.

Every function takes the viewer's account id and filters by it in SQL; pages never load a row by
id without going through one of these or an `owned_*` helper.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from reminders.models import Account, Appointment, CalendarConnection, OAuthGrant, Reminder
from reminders.reasons import ReminderState, SkipReason

LIVE = (ReminderState.SCHEDULED, ReminderState.QUEUED, ReminderState.SENDING)


@dataclass(frozen=True, slots=True)
class ReminderLine:
    """One reminder with the appointment it is for."""

    reminder: Reminder
    appointment: Appointment
    calendar: CalendarConnection


@dataclass(frozen=True, slots=True)
class CalendarLine:
    """A calendar with whether its access still works."""

    calendar: CalendarConnection
    access_revoked: bool


def account(session: Session, account_id: int) -> Account:
    """The viewer's account."""
    return session.get_one(Account, account_id)


def owned_calendar(session: Session, account_id: int, calendar_id: int) -> CalendarConnection | None:
    """The calendar with this id if it belongs to the account (None for another account's id)."""
    found = session.get(CalendarConnection, calendar_id)
    return found if found is not None and found.account_id == account_id else None


def calendars(
    session: Session, account_id: int, *, connected_only: bool = False
) -> Sequence[CalendarConnection]:
    """The account's calendars, by name."""
    stmt = select(CalendarConnection).where(CalendarConnection.account_id == account_id)
    if connected_only:
        stmt = stmt.where(CalendarConnection.disconnected_at.is_(None))
    return session.scalars(stmt.order_by(CalendarConnection.name, CalendarConnection.id)).all()


def calendar_lines(session: Session, account_id: int) -> list[CalendarLine]:
    """The account's connected calendars with the state of their OAuth access."""
    stmt = (
        select(CalendarConnection, OAuthGrant.revoked_at)
        .outerjoin(OAuthGrant, OAuthGrant.id == CalendarConnection.grant_id)
        .where(CalendarConnection.account_id == account_id, CalendarConnection.disconnected_at.is_(None))
        .order_by(CalendarConnection.name, CalendarConnection.id)
    )
    return [CalendarLine(c, revoked is not None) for c, revoked in session.execute(stmt).all()]


def upcoming(session: Session, account_id: int, *, limit: int = 10) -> list[ReminderLine]:
    """Reminders still to go out, soonest first."""
    # Scheduled rows walk the partial index ix_reminder_due_scheduled in due order and stop at
    # `limit`; the few queued or sending ones are read apart (an IN would read all and sort).
    lines = _live(session, account_id, Reminder.state == ReminderState.SCHEDULED, limit)
    lines += _live(session, account_id, Reminder.state.in_(LIVE[1:]), limit)
    lines.sort(key=lambda line: (line.reminder.due_at is None, line.reminder.due_at, line.reminder.id))
    return lines[:limit]


def _live(session: Session, account_id: int, state: ColumnElement[bool], limit: int) -> list[ReminderLine]:
    stmt = (
        select(Reminder, Appointment, CalendarConnection)
        .join(Appointment, Reminder.appointment_id == Appointment.id)
        .join(CalendarConnection, Appointment.calendar_id == CalendarConnection.id)
        .where(CalendarConnection.account_id == account_id, state)
        .order_by(Reminder.due_at.asc(), Reminder.id)
        .limit(limit)
    )
    return [ReminderLine(r, a, c) for r, a, c in session.execute(stmt).all()]


def at_risk_count(session: Session, account_id: int, now: datetime, *, days: int = 7) -> int:
    """Upcoming appointments of the next `days` days whose reminder cannot go out: no mobile number."""
    stmt = (
        select(func.count())
        .select_from(Appointment)
        .join(CalendarConnection, Appointment.calendar_id == CalendarConnection.id)
        .where(
            CalendarConnection.account_id == account_id,
            CalendarConnection.disconnected_at.is_(None),
            Appointment.status == "confirmed",
            Appointment.all_day.is_(False),
            Appointment.starts_at > now,
            Appointment.starts_at <= now + timedelta(days=days),
            Appointment.recipient.is_(None),
        )
    )
    return int(session.scalar(stmt) or 0)


def _of_account(account_id: int) -> ColumnElement[bool]:
    """Reminders of the account's connected calendars (the query joins appointment and calendar)."""
    return (CalendarConnection.account_id == account_id) & CalendarConnection.disconnected_at.is_(None)


def _count_reminders(session: Session, account_id: int, *where: ColumnElement[bool]) -> int:
    stmt = (
        select(func.count())
        .select_from(Reminder)
        .join(Appointment, Reminder.appointment_id == Appointment.id)
        .join(CalendarConnection, Appointment.calendar_id == CalendarConnection.id)
        .where(_of_account(account_id), *where)
    )
    return int(session.scalar(stmt) or 0)


def skipped_for_credit(session: Session, account_id: int, now: datetime, *, days: int = 7) -> int:
    """Reminders of the last `days` days that were not sent for lack of SMS credit."""
    return _count_reminders(
        session,
        account_id,
        Reminder.state == ReminderState.SKIPPED,
        Reminder.reason == SkipReason.NO_CREDIT,
        Reminder.due_at > now - timedelta(days=days),
        Reminder.due_at <= now,
    )


def due_soon(session: Session, account_id: int, now: datetime, *, hours: int = 48) -> int:
    """Reminders planned to go out within the next `hours` hours (each costs at least one credit)."""
    return _count_reminders(
        session,
        account_id,
        Reminder.state.in_(LIVE[:2]),
        Reminder.due_at <= now + timedelta(hours=hours),
    )
