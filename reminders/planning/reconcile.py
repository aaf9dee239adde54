"""Bring an appointment's reminder rows in line with what the planner says now.

Runs inside the sync transaction. Moving a reminder is an UPDATE of its due time; a reminder
already sent (or skipped) for the current start stays as it is, and an appointment moved to a
new start gets a new reminder for that start.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from reminders.appointments.upsert import known_zone
from reminders.batching import chunks
from reminders.models import Account, Appointment, CalendarConnection, Reminder, ReminderRuleRow
from reminders.planning import (
    AppointmentSlot,
    OffsetUnit,
    PlannedReminder,
    PlanningPolicy,
    QuietHours,
    ReminderRule,
    RuleKind,
    plan,
)
from reminders.reasons import PLANNING_SKIPS, CancelReason, ReminderState


@dataclass(slots=True)
class ReconcileCounts:
    """How many reminder rows a reconciliation touched."""

    planned: int = 0
    moved: int = 0
    cancelled: int = 0
    skipped: int = 0

    def add(self, other: ReconcileCounts) -> None:
        self.planned += other.planned
        self.moved += other.moved
        self.cancelled += other.cancelled
        self.skipped += other.skipped


def policy_for(account: Account, connection: CalendarConnection, *, now: datetime) -> PlanningPolicy:
    """A calendar's planning policy: the account's zone; the calendar's quiet hours and late-send choice.

    Until the calendar has been read once, every time already passed lies before its connection.
    """
    start, end = connection.quiet_start, connection.quiet_end
    if start is None or end is None:
        # Both ends or neither: half a window of the calendar's own is a window nobody chose.
        start, end = account.quiet_start, account.quiet_end
    return PlanningPolicy(
        account_timezone=account.timezone,
        calendar_timezone=known_zone(connection.timezone),
        quiet_hours=QuietHours(start=start, end=end),
        allow_late_send=connection.allow_late_send,
        known_since=connection.first_synced_at or now,
    )


def rules_from_rows(rows: Iterable[ReminderRuleRow]) -> list[ReminderRule]:
    """Domain rules from the active rule rows."""
    return [
        ReminderRule(
            id=row.id,
            kind=RuleKind(row.kind),
            amount=row.amount,
            unit=OffsetUnit(row.unit),
            at=row.at_time,
            days_before=row.days_before,
        )
        for row in rows
        if row.active
    ]


def slot_of(appointment: Appointment, default_timezone: str) -> AppointmentSlot:
    """The planner's view of an appointment."""
    return AppointmentSlot(
        starts_at=appointment.starts_at,
        timezone=appointment.timezone or default_timezone,
        all_day=appointment.all_day,
    )


class NewReminders:
    """Reminder rows to insert with one statement after a whole batch is reconciled.

    Nothing reads their ids back, and one multi-row INSERT is several times faster on PostgreSQL
    than ORM objects, which must return every generated id.
    """

    def __init__(self) -> None:
        self._rows: list[dict[str, object]] = []
        self._due: list[datetime] = []

    def add(self, appointment: Appointment, wanted: PlannedReminder, now: datetime) -> None:
        """Queue the reminder `wanted` for `appointment`."""
        if wanted.skip_reason is None and wanted.due_at is not None:
            self._due.append(wanted.due_at)
        self._rows.append(
            {
                "appointment_id": appointment.id,
                "rule_id": wanted.rule_id,
                "for_starts_at": appointment.starts_at,
                "due_at": wanted.due_at,
                "nominal_at": wanted.nominal_at,
                "state": ReminderState.SKIPPED if wanted.skip_reason else ReminderState.SCHEDULED,
                "reason": wanted.skip_reason,
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
        )

    def scheduled_due(self) -> list[datetime]:
        """When the queued rows that will be sent fall due."""
        return list(self._due)

    def insert(self, session: Session) -> int:
        """Insert the queued rows; returns how many."""
        rows, self._rows, self._due = self._rows, [], []
        if rows:
            session.execute(insert(Reminder), rows)
        return len(rows)


def reconcile(
    appointment: Appointment,
    existing: Sequence[Reminder],
    rules: Sequence[ReminderRule],
    policy: PlanningPolicy,
    *,
    now: datetime,
    new: NewReminders,
) -> ReconcileCounts:
    """Create, move, skip or cancel the appointment's reminders so they match `plan(...)` now.

    New rows go to `new`; the caller inserts them once the batch is done.
    """
    counts = ReconcileCounts()
    planned = plan(slot_of(appointment, policy.default_timezone), rules, policy, now=now)
    rule_ids = {rule.id for rule in rules}
    for rule, wanted in zip(rules, planned, strict=True):
        rows = [row for row in existing if row.rule_id == rule.id]
        counts.add(_reconcile_rule(appointment, rows, wanted, now=now, new=new))
    for row in existing:
        if row.rule_id not in rule_ids and row.state == ReminderState.SCHEDULED:
            _cancel(row, CancelReason.RULE_REMOVED, now)
            counts.cancelled += 1
    return counts


def _reconcile_rule(
    appointment: Appointment,
    rows: Sequence[Reminder],
    wanted: PlannedReminder,
    *,
    now: datetime,
    new: NewReminders,
) -> ReconcileCounts:
    counts = ReconcileCounts()
    start = appointment.starts_at
    standing = next(
        (r for r in rows if r.for_starts_at == start and r.state != ReminderState.CANCELLED), None
    )
    movable = [r for r in rows if r.state == ReminderState.SCHEDULED and r is not standing]
    moved = False
    if standing is None and movable:
        standing, moved = movable.pop(0), True
        standing.for_starts_at = start
    for row in movable:
        _cancel(row, CancelReason.APPOINTMENT_MOVED, now)
        counts.cancelled += 1
    if standing is None:
        new.add(appointment, wanted, now)
        counts.planned += wanted.skip_reason is None
        counts.skipped += wanted.skip_reason is not None
        return counts
    if _revivable(standing) and wanted.skip_reason is None:
        # Skipped for its time alone, and the settings now give it one (late sends turned on,
        # shorter quiet hours): it goes out after all.
        _apply(standing, wanted, now)
        counts.planned += 1
        return counts
    if standing.state != ReminderState.SCHEDULED:
        return counts  # already sent, skipped or in flight for this very start
    if wanted.skip_reason is not None:
        _apply(standing, wanted, now)
        counts.skipped += 1
    elif moved or standing.due_at != wanted.due_at:
        _apply(standing, wanted, now)
        counts.moved += 1
    return counts


def _revivable(row: Reminder) -> bool:
    # A skip decided by the planner from times, not one decided at dispatch (no credit, no number).
    return row.state == ReminderState.SKIPPED and row.reason in PLANNING_SKIPS and row.attempts == 0


def _apply(row: Reminder, wanted: PlannedReminder, now: datetime) -> None:
    row.due_at = wanted.due_at
    row.nominal_at = wanted.nominal_at
    row.state = ReminderState.SKIPPED if wanted.skip_reason else ReminderState.SCHEDULED
    row.reason = wanted.skip_reason
    row.updated_at = now


def _cancel(row: Reminder, reason: CancelReason, now: datetime) -> None:
    row.state = ReminderState.CANCELLED
    row.reason = reason
    row.updated_at = now


def cancel_scheduled_from(session: Session, calendar_id: int, reason: CancelReason, *, now: datetime) -> int:
    """Cancel every still-scheduled reminder of a calendar's appointments; returns how many."""
    in_calendar = select(Appointment.id).where(Appointment.calendar_id == calendar_id)
    result = session.execute(
        update(Reminder)
        .where(Reminder.appointment_id.in_(in_calendar), Reminder.state == ReminderState.SCHEDULED)
        .values(state=ReminderState.CANCELLED, reason=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def cancel_scheduled(
    session: Session, appointment_ids: Sequence[int], reason: CancelReason, *, now: datetime
) -> int:
    """Cancel every still-scheduled reminder of these appointments; returns how many."""
    cancelled = 0
    for chunk in chunks(appointment_ids):
        result = session.execute(
            update(Reminder)
            .where(Reminder.appointment_id.in_(chunk), Reminder.state == ReminderState.SCHEDULED)
            .values(state=ReminderState.CANCELLED, reason=reason, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        cancelled += result.rowcount  # type: ignore[attr-defined]
    return cancelled
