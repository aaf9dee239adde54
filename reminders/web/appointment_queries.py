"""Reading appointments for the pages: a keyset-paginated list and one appointment in full.

The list must stay fast for an account with 100,000 appointments. It walks the index
`appointment(calendar_id, starts_at)` once per calendar of the account, each walk limited to one
page, and merges the walks (a UNION ALL of small ordered subqueries): an `IN (...)` over all
calendars would make the database sort every matching appointment before it could cut a page.
There is no total count; the page offers "next" while there are more rows.

Conditions the index cannot answer (no number, a title search) make a walk read table rows until
it has a page, all of them when nothing matches. So the "no number" list is bounded in time (the
page passes the planning horizon), and there is no title search: at 100,000 appointments either
would read the whole account and break the page's 100 ms budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Subquery, and_, or_, select, true, union_all
from sqlalchemy.orm import Session

from reminders.models import Appointment, CalendarConnection, Reminder, SendAttempt
from reminders.reasons import CancelReason
from reminders.reports.planner import unindexed

PAGE_SIZE = 50
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Cancelled because something newer replaced them; the list leaves them out (the detail shows them).
_SUPERSEDED = (CancelReason.APPOINTMENT_MOVED, CancelReason.RULE_REMOVED)


@dataclass(frozen=True, slots=True)
class AppointmentFilter:
    """What the list shows: upcoming (ascending) or past (descending) appointments, narrowed."""

    past: bool = False
    calendar_id: int | None = None
    no_number: bool = False
    within: timedelta | None = None  # only appointments starting this close to now


@dataclass(frozen=True, slots=True)
class ListCursor:
    """The sort key of the last row of a page."""

    starts_at: datetime
    appointment_id: int

    def encode(self) -> str:
        """A compact, URL-safe form (microseconds since 1970 and the id)."""
        return f"{(self.starts_at - _EPOCH) // _MICROSECOND}.{self.appointment_id}"

    @classmethod
    def decode(cls, text: str) -> ListCursor | None:
        """The cursor in `text`, or None for anything else (an edited or stale link)."""
        micros, dot, row_id = text.partition(".")
        negative = micros.startswith("-")
        digits = micros[1:] if negative else micros
        if not dot or not digits.isdigit() or not row_id.isdigit() or len(digits) > 18 or len(row_id) > 18:
            return None
        try:
            return cls(_EPOCH + int(micros) * _MICROSECOND, int(row_id))
        except OverflowError:
            return None


@dataclass(frozen=True, slots=True)
class AppointmentLine:
    """One appointment of the list with its calendar's name and its current reminders."""

    appointment: Appointment
    calendar_name: str
    reminders: list[Reminder] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AppointmentPage:
    """A page of the list and the cursor of the next page (None on the last)."""

    lines: list[AppointmentLine]
    next: ListCursor | None


@dataclass(frozen=True, slots=True)
class AppointmentDetail:
    """One appointment, its calendar, every reminder and every send attempt of those reminders."""

    appointment: Appointment
    calendar: CalendarConnection
    reminders: list[Reminder]
    attempts: dict[int, list[SendAttempt]]


def calendar_ids(session: Session, account_id: int, *, connected_only: bool = False) -> list[int]:
    """The ids of the account's calendars (the list's entry points into the index)."""
    stmt = select(CalendarConnection.id).where(CalendarConnection.account_id == account_id)
    if connected_only:
        stmt = stmt.where(CalendarConnection.disconnected_at.is_(None))
    return list(session.scalars(stmt.order_by(CalendarConnection.id)))


def appointment_page(
    session: Session,
    account_id: int,
    where: AppointmentFilter,
    *,
    now: datetime,
    after: ListCursor | None = None,
    limit: int = PAGE_SIZE,
) -> AppointmentPage:
    """One page of the account's appointments matching `where`, after the cursor."""
    # "No number" is the dashboard's at-risk notion: calendars that are still connected.
    ids = calendar_ids(session, account_id, connected_only=where.no_number)
    if where.calendar_id is not None:
        ids = [i for i in ids if i == where.calendar_id]
    keys = _page_keys(session, ids, where, now, after, limit + 1)
    more = len(keys) > limit
    keys = keys[:limit]
    found = _load_lines(session, account_id, [key[1] for key in keys])
    lines = [found[appointment_id] for _, appointment_id in keys if appointment_id in found]
    return AppointmentPage(lines, ListCursor(*keys[-1]) if more and keys else None)


def appointment_detail(session: Session, account_id: int, appointment_id: int) -> AppointmentDetail | None:
    """The appointment with this id if its calendar belongs to the account (None otherwise)."""
    row = session.execute(
        select(Appointment, CalendarConnection)
        .join(CalendarConnection, CalendarConnection.id == Appointment.calendar_id)
        .where(Appointment.id == appointment_id, CalendarConnection.account_id == account_id)
    ).first()
    if row is None:
        return None
    appointment, calendar = row
    reminders = list(
        session.scalars(
            select(Reminder).where(Reminder.appointment_id == appointment.id).order_by(Reminder.id)
        )
    )
    attempts: dict[int, list[SendAttempt]] = {}
    if reminders:
        for attempt in session.scalars(
            select(SendAttempt)
            .where(
                SendAttempt.reminder_id.in_([r.id for r in reminders]),
                # Not through the account index: that would read every attempt of the account.
                unindexed(session, SendAttempt.account_id) == account_id,
            )
            .order_by(SendAttempt.reminder_id, SendAttempt.number, SendAttempt.id)
        ):
            attempts.setdefault(attempt.reminder_id, []).append(attempt)
    return AppointmentDetail(appointment, calendar, reminders, attempts)


def _page_keys(
    session: Session,
    ids: Sequence[int],
    where: AppointmentFilter,
    now: datetime,
    after: ListCursor | None,
    limit: int,
) -> list[tuple[datetime, int]]:
    """(starts_at, id) of the page's rows, in list order."""
    if not ids:
        return []
    walks = [_walk(calendar_id, where, now, after, limit) for calendar_id in ids]
    merged = walks[0] if len(walks) == 1 else union_all(*(select(walk) for walk in walks)).subquery()
    order = _order(merged.c.starts_at, merged.c.id, where.past)
    stmt = select(merged.c.starts_at, merged.c.id).order_by(*order).limit(limit)
    return [(starts_at, appointment_id) for starts_at, appointment_id in session.execute(stmt)]


def _walk(
    calendar_id: int, where: AppointmentFilter, now: datetime, after: ListCursor | None, limit: int
) -> Subquery:
    """One calendar's part of the page, read in index order."""
    a = Appointment
    stmt = select(a.starts_at, a.id).where(
        a.calendar_id == calendar_id,
        a.starts_at < now if where.past else a.starts_at >= now,
        _beyond(after, where.past),
    )
    if where.within is not None:
        stmt = stmt.where(
            a.starts_at >= now - where.within if where.past else a.starts_at < now + where.within
        )
    if where.no_number:
        stmt = stmt.where(a.recipient.is_(None), a.status == "confirmed", a.all_day.is_(False))
    return stmt.order_by(*_order(a.starts_at, a.id, where.past)).limit(limit).subquery()


def _order(starts_at: Any, row_id: Any, past: bool) -> list[Any]:
    if past:
        return [starts_at.desc(), row_id.desc()]
    return [starts_at.asc(), row_id.asc()]


def _beyond(after: ListCursor | None, past: bool) -> ColumnElement[bool]:
    """Rows after the cursor in list order; written so the index range still applies."""
    if after is None:
        return true()
    a, at, row_id = Appointment, after.starts_at, after.appointment_id
    if past:
        return and_(a.starts_at <= at, or_(a.starts_at < at, a.id < row_id))
    return and_(a.starts_at >= at, or_(a.starts_at > at, a.id > row_id))


def _load_lines(session: Session, account_id: int, ids: Sequence[int]) -> dict[int, AppointmentLine]:
    if not ids:
        return {}
    lines = {
        appointment.id: AppointmentLine(appointment, name)
        for appointment, name in session.execute(
            select(Appointment, CalendarConnection.name)
            .join(CalendarConnection, CalendarConnection.id == Appointment.calendar_id)
            # By primary key: SQLite would otherwise start from the account's calendars (planner.py).
            .where(Appointment.id.in_(ids), unindexed(session, CalendarConnection.account_id) == account_id)
        )
    }
    for reminder in session.scalars(
        select(Reminder)
        .where(Reminder.appointment_id.in_(ids))
        .order_by(Reminder.due_at.asc().nulls_last(), Reminder.id)
    ):
        superseded = reminder.state == "cancelled" and reminder.reason in _SUPERSEDED
        if not superseded and reminder.appointment_id in lines:
            lines[reminder.appointment_id].reminders.append(reminder)
    return lines
