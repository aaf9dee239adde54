"""What a sync must write: the changes compared with what is stored, worked out before any write.

`load_context` and `load_stored` read (no write lock on SQLite); `make_plan` then does the
CPU-heavy part of a sync, finding each changed event's number, outside any transaction, so that
neither a read snapshot nor the write transactions that follow are held for long.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from connectors.calendars.base import CalendarChanges, RemoteEvent
from reminders.appointments.upsert import (
    STATUS_CONFIRMED,
    STATUS_REMOVED,
    PreparedEvent,
    content_hash,
    event_status,
    prepare_event,
)
from reminders.batching import chunks
from reminders.models import Account, Appointment, CalendarConnection, ReminderRuleRow
from reminders.planning import PlanningPolicy, ReminderRule
from reminders.planning.reconcile import policy_for, rules_from_rows

# Times outside this range come from broken feeds; planning arithmetic must never overflow.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SyncContext:
    """The calendar's settings a sync works with, read once."""

    connection_id: int
    now: datetime
    horizon: timedelta
    rules: Sequence[ReminderRule]
    policy: PlanningPolicy
    phone_fields: Sequence[str]
    region: str


@dataclass(frozen=True, slots=True)
class StoredAppointment:
    """The columns of a stored appointment that decide whether it changed or went away."""

    id: int
    content_hash: str
    status: str
    starts_at: datetime
    ends_at: datetime
    series_id: str | None


@dataclass(slots=True)
class SyncPlan:
    """The events to write (new or changed), the appointments to remove or cancel, what the guard needs."""

    writes: list[PreparedEvent] = field(default_factory=list)
    # The stored row of each write that updates an appointment (by external id); the rest are new.
    stored_ids: dict[str, int] = field(default_factory=dict)
    removals: list[int] = field(default_factory=list)
    # Confirmed appointments the provider cancelled by id (`CalendarChanges.cancelled_ids`).
    cancellations: list[int] = field(default_factory=list)
    # Stored upcoming appointments, and how many of them the removals would take away.
    upcoming: int = 0
    dropped: int = 0
    warnings: list[str] = field(default_factory=list)


def load_context(session: Session, connection_id: int, *, now: datetime, horizon: timedelta) -> SyncContext:
    """The connection's rules, planning policy and phone settings."""
    connection = session.get_one(CalendarConnection, connection_id)
    account = session.get_one(Account, connection.account_id)
    rule_rows = session.scalars(select(ReminderRuleRow).where(ReminderRuleRow.calendar_id == connection_id))
    return SyncContext(
        connection_id=connection_id,
        now=now,
        horizon=horizon,
        rules=tuple(rules_from_rows(rule_rows)),
        policy=policy_for(account, connection, now=now),
        phone_fields=tuple(connection.phone_fields),
        region=account.home_region,
    )


def make_plan(
    context: SyncContext, changes: CalendarChanges, stored: Mapping[str, StoredAppointment]
) -> SyncPlan:
    """Compare `changes` with the `stored` appointments; find the numbers of what changed.

    Pure and the costly part of a sync (the number search), so it runs outside any transaction.
    """
    plan = SyncPlan(warnings=list(changes.warnings))
    seen: set[str] = set()
    for raw_event in changes.events:
        if raw_event.external_id in seen:
            continue  # a feed may repeat an event; the first one wins
        seen.add(raw_event.external_id)
        event = usable_event(raw_event)
        if event is None:
            plan.warnings.append(
                f"Ignored event {raw_event.external_id[:80]!r}: its start time is not usable."
            )
            continue
        digest = content_hash(event, context.phone_fields, context.region)
        known = stored.get(event.external_id)
        # The status too: one cancelled by id keeps its digest, and must come back if restored.
        if known is not None and known.content_hash == digest and known.status == event_status(event):
            continue
        plan.writes.append(
            prepare_event(event, digest=digest, phone_fields=context.phone_fields, region=context.region)
        )
        if known is not None:
            plan.stored_ids[event.external_id] = known.id
    cancelled = {i for i in changes.cancelled_ids if i not in seen}
    removed = _removed(stored, changes, seen | cancelled)  # cancelled is not gone from a snapshot
    plan.removals = sorted(stored[i].id for i in removed)
    plan.cancellations = sorted(
        stored[i].id
        for i in cancelled
        if i in stored and i not in removed and stored[i].status == STATUS_CONFIRMED
    )
    if changes.complete:
        upcoming = {
            i for i, a in stored.items() if a.status == STATUS_CONFIRMED and a.starts_at >= context.now
        }
        plan.upcoming = len(upcoming)
        plan.dropped = len(upcoming & removed)
    return plan


def usable_event(event: RemoteEvent) -> RemoteEvent | None:
    """The event if its times can be planned with, or None.

    An end before the start is the common export bug of swapped times: the earlier time is taken
    as the start, so the reminder is never late.
    """
    if event.start.tzinfo is None or event.end.tzinfo is None:
        return None
    if event.end < event.start:
        event = replace(event, start=event.end, end=event.start)
    if not (EARLIEST <= event.start <= LATEST):
        return None
    if event.end > LATEST:
        return replace(event, end=event.start)
    return event


def load_stored(
    session: Session, connection_id: int, changes: CalendarChanges
) -> dict[str, StoredAppointment]:
    """The stored appointments this change set can touch, by external id (columns only)."""
    columns = (
        Appointment.external_id,
        Appointment.id,
        Appointment.content_hash,
        Appointment.status,
        Appointment.starts_at,
        Appointment.ends_at,
        Appointment.series_id,
    )
    stored: dict[str, StoredAppointment] = {}

    def load(*conditions: ColumnElement[bool]) -> None:
        stmt = select(*columns).where(Appointment.calendar_id == connection_id, *conditions)
        for row in session.execute(stmt):
            stored[row.external_id] = StoredAppointment(
                row.id, row.content_hash, row.status, row.starts_at, row.ends_at, row.series_id
            )

    if changes.complete:  # a snapshot: everything stored in its window may have to be removed
        if changes.window_start is not None:
            load(Appointment.ends_at > changes.window_start)
        else:
            load()
    wanted = [e.external_id for e in changes.events if e.external_id not in stored]
    wanted += [i for i in (*changes.removed_ids, *changes.cancelled_ids) if i not in stored]
    for chunk in chunks(wanted):
        load(Appointment.external_id.in_(chunk))
    # A removed id may name a whole series (a deleted recurring event): load its instances too.
    for chunk in chunks(list(changes.removed_ids)):
        load(Appointment.series_id.in_(chunk))
    return stored


def _removed(stored: Mapping[str, StoredAppointment], changes: CalendarChanges, seen: set[str]) -> set[str]:
    removed = set(changes.removed_ids)
    gone = {
        i for i, a in stored.items() if i in removed or (a.series_id is not None and a.series_id in removed)
    }
    if changes.complete:
        start, end = changes.window_start or EARLIEST, changes.window_end or LATEST
        gone.update(
            external_id
            for external_id, a in stored.items()
            if external_id not in seen and a.starts_at < end and a.ends_at > start
        )
    return {i for i in gone if stored[i].status != STATUS_REMOVED}
