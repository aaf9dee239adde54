"""The message log: every hand-over to the SMS gateway, and reminders that ended without one.

Two kinds of row, newest first:
- a **send attempt** (`send_attempt`): one hand-over to the gateway, sent or failed; a retried
  reminder has one row per attempt. Its time is when it was handed over.
- a **reminder without a send**: skipped (a gate said no), cancelled (the appointment was
  deleted or moved), or failed before any hand-over (the text could not be built). Its time is
  when that was decided (`updated_at`). A reminder skipped because its time had passed before
  the calendar was connected is no message and not listed.

Pages are cut with a keyset cursor (time, kind, id) rather than OFFSET, so page 500 costs what
page 1 costs. Each kind is read by its own query, limited to one page, and the two are merged:
each query can then walk its own index in order. Every query filters by the account in SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select, true
from sqlalchemy.orm import Session, sessionmaker

from reminders.models import Appointment, CalendarConnection, Reminder, SendAttempt
from reminders.reasons import ReminderState, SkipReason
from reminders.reports.planner import unindexed
from reminders.web.reminder_texts import attempt_state

# What the state filter offers; "" is every row.
LOG_STATES = ("sent", "failed", "skipped", "cancelled")

ATTEMPT, REMINDER = 1, 0  # kind ranks: at the same instant an attempt sorts before a reminder row
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_DELIVERY_STATES = frozenset({ReminderState.DELIVERED, ReminderState.NOT_DELIVERED})


@dataclass(frozen=True, slots=True)
class LogFilter:
    """What the log is narrowed to: a calendar, a time range [start, end) in UTC, a state."""

    calendar_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    state: str = ""


@dataclass(frozen=True, slots=True, order=True)
class LogCursor:
    """Where a page ends: the sort key of its last row."""

    at: datetime
    kind: int
    row_id: int

    def encode(self) -> str:
        """A compact, URL-safe form (microseconds since 1970, kind, id)."""
        return f"{(self.at - _EPOCH) // _MICROSECOND}.{self.kind}.{self.row_id}"

    @classmethod
    def decode(cls, text: str) -> LogCursor | None:
        """The cursor in `text`, or None for anything that is not one (a stale or edited link)."""
        parts = text.split(".")
        if len(parts) != 3 or not all(part.isdigit() and len(part) <= 18 for part in parts):
            return None
        micros, kind, row_id = (int(part) for part in parts)
        if kind not in (ATTEMPT, REMINDER):
            return None
        try:
            return cls(_EPOCH + micros * _MICROSECOND, kind, row_id)
        except OverflowError:
            return None


@dataclass(frozen=True, slots=True)
class LogRow:
    """One line of the log; `state` is sent, delivered, not_delivered, sending, unknown, failed,
    skipped or cancelled; `cost` is the credit it used (1 per segment; refunded sends cost 0)."""

    kind: int
    row_id: int
    at: datetime
    calendar_id: int
    calendar_name: str
    appointment_id: int
    appointment_title: str
    recipient: str | None
    sender: str | None
    body: str | None
    encoding: str | None
    segments: int | None
    state: str
    reason: str | None
    error: str | None
    cost: int

    @property
    def cursor(self) -> LogCursor:
        return LogCursor(self.at, self.kind, self.row_id)


@dataclass(frozen=True, slots=True)
class LogPage:
    """A page of rows and the cursor of the next page (None on the last)."""

    rows: list[LogRow]
    next: LogCursor | None


def log_page(
    session: Session, account_id: int, where: LogFilter, *, after: LogCursor | None = None, limit: int = 50
) -> LogPage:
    """The `limit` newest rows of the account's log matching `where`, older than `after`."""
    rows = _attempt_rows(session, account_id, where, after, limit + 1)
    rows += _reminder_rows(session, account_id, where, after, limit + 1)
    rows.sort(key=lambda row: row.cursor, reverse=True)
    more = len(rows) > limit
    rows = rows[:limit]
    return LogPage(rows, rows[-1].cursor if more and rows else None)


def iter_log(
    factory: sessionmaker[Session], account_id: int, where: LogFilter, *, cap: int, chunk: int = 1000
) -> Iterator[LogRow]:
    """At most `cap` rows of the log, newest first, read `chunk` rows per short transaction.

    For downloads: no transaction stays open while the file is written to a slow client.
    """
    after: LogCursor | None = None
    left = cap
    while left > 0:
        with factory() as session:
            page = log_page(session, account_id, where, after=after, limit=min(chunk, left))
        yield from page.rows
        left -= len(page.rows)
        if page.next is None:
            return
        after = page.next


def _older(at: Any, row_id: Any, kind: int, after: LogCursor | None) -> ColumnElement[bool]:
    """Rows of this kind that sort after the cursor (time, kind, id descending)."""
    if after is None:
        return true()
    if kind < after.kind:
        return at <= after.at  # type: ignore[no-any-return]
    if kind > after.kind:
        return at < after.at  # type: ignore[no-any-return]
    return and_(at <= after.at, or_(at < after.at, row_id < after.row_id))


def _narrowed(
    at: Any, where: LogFilter, calendar: Any = Appointment.calendar_id
) -> list[ColumnElement[bool]]:
    """The filter's conditions on a branch whose time column is `at`."""
    conditions: list[ColumnElement[bool]] = []
    if where.calendar_id is not None:
        conditions.append(calendar == where.calendar_id)
    if where.start is not None:
        conditions.append(at >= where.start)
    if where.end is not None:
        conditions.append(at < where.end)
    return conditions


def _attempt_rows(
    session: Session, account_id: int, where: LogFilter, after: LogCursor | None, limit: int
) -> list[LogRow]:
    if where.state in ("skipped", "cancelled"):
        return []
    at = SendAttempt.started_at
    stmt = (
        select(
            SendAttempt,
            Reminder.state,
            Appointment.id,
            Appointment.title,
            CalendarConnection.id,
            CalendarConnection.name,
        )
        .join(Reminder, Reminder.id == SendAttempt.reminder_id)
        .join(Appointment, Appointment.id == Reminder.appointment_id)
        .join(CalendarConnection, CalendarConnection.id == Appointment.calendar_id)
        .where(
            # ix_send_attempt_account_started serves the filter and the order; the calendar's
            # account must not be an index key for SQLite (planner.py).
            SendAttempt.account_id == account_id,
            unindexed(session, CalendarConnection.account_id) == account_id,
            _older(at, SendAttempt.id, ATTEMPT, after),
            *_narrowed(at, where, unindexed(session, Appointment.calendar_id)),
        )
        .order_by(at.desc(), SendAttempt.id.desc())
        .limit(limit)
    )
    if where.state in ("sent", "failed"):
        stmt = stmt.where(SendAttempt.outcome == where.state)
    rows = []
    for attempt, reminder_state, appointment_id, title, calendar_id, calendar_name in session.execute(stmt):
        state = attempt_state(attempt.outcome)
        if state == "sent" and reminder_state in _DELIVERY_STATES:
            state = reminder_state
        rows.append(
            LogRow(
                kind=ATTEMPT,
                row_id=attempt.id,
                at=attempt.started_at,
                calendar_id=calendar_id,
                calendar_name=calendar_name,
                appointment_id=appointment_id,
                appointment_title=title,
                recipient=attempt.recipient,
                sender=attempt.sender,
                body=attempt.body,
                encoding=attempt.encoding,
                segments=attempt.segments,
                state=state,
                reason=None,
                error=attempt.error,
                # The debit of a failed hand-over is refunded; anything else was (or may be) charged.
                cost=0 if attempt.outcome == "failed" else attempt.segments,
            )
        )
    return rows


def _unsent_states(state: str) -> list[str]:
    """The reminder states that end without a send and the filter wants (none: only send attempts)."""
    if state == "sent":
        return []
    return [state] if state else [ReminderState.SKIPPED, ReminderState.CANCELLED, ReminderState.FAILED]


def _reminder_rows(
    session: Session, account_id: int, where: LogFilter, after: LogCursor | None, limit: int
) -> list[LogRow]:
    # One query per state, each walking ix_reminder_state_updated newest first and stopping at
    # `limit`; an IN over the states would make both databases read every match and sort.
    found = [
        row
        for state in _unsent_states(where.state)
        for row in _state_rows(session, account_id, where, after, limit, state)
    ]
    found.sort(key=lambda row: row.cursor, reverse=True)
    return found[:limit]


def _state_rows(
    session: Session, account_id: int, where: LogFilter, after: LogCursor | None, limit: int, state: str
) -> list[LogRow]:
    at = Reminder.updated_at
    condition = Reminder.state == state
    if state == ReminderState.FAILED:
        # A failed reminder with attempts is already in the log through them.
        condition = and_(condition, ~exists().where(SendAttempt.reminder_id == Reminder.id))
    elif state == ReminderState.SKIPPED:
        # Its time had passed before the calendar was connected: never possible, so no message
        # (the appointment pages still show it).
        condition = and_(
            condition, or_(Reminder.reason.is_(None), Reminder.reason != SkipReason.BEFORE_CONNECTED)
        )
    stmt = (
        select(
            Reminder,
            Appointment.id,
            Appointment.title,
            Appointment.recipient,
            CalendarConnection.id,
            CalendarConnection.name,
        )
        .join(Appointment, Appointment.id == Reminder.appointment_id)
        .join(CalendarConnection, CalendarConnection.id == Appointment.calendar_id)
        .where(
            CalendarConnection.account_id == account_id,
            condition,
            _older(at, Reminder.id, REMINDER, after),
            *_narrowed(at, where),
        )
        .order_by(at.desc(), Reminder.id.desc())
        .limit(limit)
    )
    return [
        LogRow(
            kind=REMINDER,
            row_id=reminder.id,
            at=reminder.updated_at,
            calendar_id=calendar_id,
            calendar_name=calendar_name,
            appointment_id=appointment_id,
            appointment_title=title,
            recipient=recipient,
            sender=None,
            body=reminder.body,
            encoding=reminder.encoding,
            segments=reminder.segments,
            state=reminder.state,
            reason=reminder.reason,
            error=None,
            cost=0,
        )
        for reminder, appointment_id, title, recipient, calendar_id, calendar_name in session.execute(stmt)
    ]
