"""Read models for the first page: upcoming reminders, outcomes, outbox, calendars."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from reminders.models import Account, Appointment, CalendarConnection, Reminder, SendAttempt
from reminders.reasons import ReminderState

LIVE = (ReminderState.SCHEDULED, ReminderState.QUEUED, ReminderState.SENDING)


@dataclass(frozen=True, slots=True)
class ReminderLine:
    """One reminder with the appointment it is for."""

    reminder: Reminder
    appointment: Appointment
    calendar: CalendarConnection


def account_for_page(session: Session, account_id: int | None) -> Account | None:
    """The requested account, or the first one (the embedded single-business mode)."""
    if account_id is not None:
        return session.get(Account, account_id)
    return session.scalars(select(Account).order_by(Account.id).limit(1)).first()


def calendars(session: Session, account_id: int) -> Sequence[CalendarConnection]:
    """The account's connected calendars."""
    stmt = select(CalendarConnection).where(CalendarConnection.account_id == account_id)
    return session.scalars(stmt.order_by(CalendarConnection.name)).all()


def upcoming(session: Session, account_id: int, *, limit: int = 100) -> list[ReminderLine]:
    """Reminders still to go out, soonest first."""
    return _lines(session, account_id, Reminder.state.in_(LIVE), Reminder.due_at.asc(), limit)


def recent_outcomes(session: Session, account_id: int, *, limit: int = 50) -> list[ReminderLine]:
    """Reminders that were sent, skipped, cancelled or failed, newest first."""
    return _lines(session, account_id, Reminder.state.not_in(LIVE), Reminder.updated_at.desc(), limit)


def outbox(session: Session, account_id: int, *, limit: int = 50) -> Sequence[SendAttempt]:
    """Messages handed to the SMS gateway, newest first."""
    stmt = select(SendAttempt).where(SendAttempt.account_id == account_id)
    return session.scalars(
        stmt.order_by(SendAttempt.started_at.desc(), SendAttempt.id.desc()).limit(limit)
    ).all()


def _lines(
    session: Session, account_id: int, condition: object, order: object, limit: int
) -> list[ReminderLine]:
    stmt = (
        select(Reminder, Appointment, CalendarConnection)
        .join(Appointment, Reminder.appointment_id == Appointment.id)
        .join(CalendarConnection, Appointment.calendar_id == CalendarConnection.id)
        .where(CalendarConnection.account_id == account_id, condition)  # type: ignore[arg-type]
        .order_by(order)  # type: ignore[arg-type]
        .limit(limit)
    )
    return [ReminderLine(r, a, c) for r, a, c in session.execute(stmt).all()]


def mask_number(number: str | None) -> str:
    """A phone number with all but the country code and the last two digits hidden."""
    if not number:
        return "–"
    keep = 3 if number.startswith("+") else 0
    return number[:keep] + "•" * max(len(number) - keep - 2, 0) + number[-2:]


def local(dt: datetime | None, zone: str) -> str:
    """A timestamp shown in the account's zone."""
    if dt is None:
        return "–"
    return dt.astimezone(ZoneInfo(zone)).strftime("%a %d.%m. %H:%M")
