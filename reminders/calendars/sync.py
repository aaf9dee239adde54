"""Sync one calendar connection: pull changes, upsert appointments, (re)plan reminders.

Three phases, so that no calendar, however large, holds the database for long:
1. the provider is read outside any transaction;
2. what is stored is read (without the write lock), then compared with the changes and the
   numbers are found (`sync_plan`), outside any transaction;
3. what changed is written in bounded transactions of at most `SyncLimits.batch_size`
   appointments (with their reminders), and the cursor is saved last, with the outcome.

A sync cut short between batches leaves some of them written and the cursor where it was: the
next sync starts from the same cursor, finds those appointments unchanged and writes the rest.
Any failure is recorded on the connection in words its owner can act on, nothing already planned
is touched, and the next sync simply retries. A complete snapshot that suddenly drops most of
the upcoming appointments is held back (`drop_guard`) instead of cancelling their reminders.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from connectors.calendars.base import AccessRevoked, CalendarChanges, CalendarError, CalendarSource
from reminders.appointments.upsert import (
    STATUS_CANCELLED,
    STATUS_CONFIRMED,
    STATUS_REMOVED,
    PreparedEvent,
    apply_event,
)
from reminders.batching import chunks
from reminders.calendars.drop_guard import DropGuard, DropVerdict, HeldDrop, judge
from reminders.calendars.sync_plan import (
    EARLIEST,
    LATEST,
    SyncContext,
    SyncPlan,
    load_context,
    load_stored,
    make_plan,
    usable_event,
)
from reminders.db import reader_for
from reminders.models import Appointment, CalendarConnection, Reminder
from reminders.planning.reconcile import NewReminders, ReconcileCounts, cancel_scheduled, reconcile
from reminders.reasons import CancelReason, ReminderState

log = logging.getLogger(__name__)

# How far back a sync looks, so an appointment running right now is still known.
LOOKBACK = timedelta(days=1)
# Back-off after failures: 1, 2, 4 … minutes, never more than an hour.
MAX_BACKOFF = timedelta(hours=1)
REVOKED_RETRY = timedelta(hours=6)
MAX_STORED_WARNINGS = 50
UNEXPECTED_READ = (
    "The calendar could not be read because of an unexpected error on this server. "
    "It is retried automatically; if this lasts, tell the service's operator."
)
UNEXPECTED_STORE = (
    "The calendar's changes could not be stored because of an unexpected error on this server. "
    "Nothing was changed; it is retried automatically."
)


@dataclass(frozen=True, slots=True)
class SyncLimits:
    """How a sync bounds its work: events per calendar, rows per transaction, the drop guard."""

    max_events: int = 50_000
    batch_size: int = 200
    guard: DropGuard = field(default_factory=DropGuard)


@dataclass(slots=True)
class SyncReport:
    """What one sync did, for logs, the CLI and the UI."""

    connection_id: int
    unchanged: bool = False
    created: int = 0
    updated: int = 0
    removed: int = 0
    reminders: ReconcileCounts = field(default_factory=ReconcileCounts)
    earliest_due: datetime | None = None
    warnings: Sequence[str] = ()
    error: str | None = None
    access_revoked: bool = False
    # Removals held back because the snapshot dropped most upcoming appointments at once.
    held_removals: int = 0

    def saw_due(self, due: datetime | None) -> None:
        """Keep the earliest due time of the reminders this sync planned or moved."""
        if due is not None and (self.earliest_due is None or due < self.earliest_due):
            self.earliest_due = due


def sync_connection(
    factory: sessionmaker[Session],
    connection_id: int,
    source: CalendarSource,
    *,
    now: datetime,
    horizon_days: int,
    interval: timedelta = timedelta(minutes=5),
    limits: SyncLimits | None = None,
) -> SyncReport:
    """Run one sync of the connection against `source`; never raises for provider trouble."""
    limits = limits or SyncLimits()
    reader = reader_for(factory)
    with reader() as session:
        cursor = session.get_one(CalendarConnection, connection_id).cursor
    window_start, window_end = now - LOOKBACK, now + timedelta(days=horizon_days)
    try:
        changes = source.fetch_changes(cursor, window_start=window_start, window_end=window_end)
    except CalendarError as exc:
        revoked = isinstance(exc, AccessRevoked)
        return record_sync_failure(
            factory, connection_id, str(exc), now=now, interval=interval, access_revoked=revoked
        )
    except Exception:  # a connector bug must not stop the other calendars, nor show its internals
        log.exception("calendar.sync.crashed calendar=%s", connection_id)
        return record_sync_failure(factory, connection_id, UNEXPECTED_READ, now=now, interval=interval)
    if len(changes.events) > limits.max_events:
        return record_sync_failure(
            factory, connection_id, too_many_events(limits.max_events), now=now, interval=interval
        )
    try:
        return store_changes(
            factory,
            connection_id,
            changes,
            now=now,
            interval=interval,
            horizon=timedelta(days=horizon_days),
            limits=limits,
        )
    except Exception:  # batches already written are idempotent: the next sync redoes the rest
        log.exception("calendar.sync.store_failed calendar=%s", connection_id)
        return record_sync_failure(factory, connection_id, UNEXPECTED_STORE, now=now, interval=interval)


def too_many_events(limit: int) -> str:
    """The owner's explanation for a calendar over the event cap."""
    return (
        f"This calendar has more than {limit:,} events in the period that is read, more than one "
        "calendar may hold here. Nothing was changed. Split it into several calendars (for "
        "example one per room or person) and connect those."
    )


def store_changes(
    factory: sessionmaker[Session],
    connection_id: int,
    changes: CalendarChanges,
    *,
    now: datetime,
    interval: timedelta = timedelta(minutes=5),
    horizon: timedelta = timedelta(days=60),
    limits: SyncLimits | None = None,
) -> SyncReport:
    """Write `changes` for the connection in bounded transactions, then save the cursor.

    Appointments starting beyond `now + horizon` are stored but get no reminders yet;
    `planning.horizon.plan_entering_horizon` plans them when they come within it.
    """
    limits = limits or SyncLimits()
    report = SyncReport(connection_id, unchanged=changes.unchanged, warnings=tuple(changes.warnings))
    verdict = DropVerdict(apply_removals=True, hold=None)
    if not changes.unchanged:
        with reader_for(factory)() as session:
            context = load_context(session, connection_id, now=now, horizon=horizon)
            stored = load_stored(session, connection_id, changes)
            previous = held_drop(session.get_one(CalendarConnection, connection_id))
        plan = make_plan(context, changes, stored)
        report.warnings = tuple(plan.warnings)
        if changes.complete:
            verdict = judge(limits.guard, previous, upcoming=plan.upcoming, dropped=plan.dropped, now=now)
        _write(factory, context, plan, verdict, report, batch_size=limits.batch_size)
    with factory.begin() as session:
        connection = session.get_one(CalendarConnection, connection_id)
        _record_success(connection, changes, report, verdict, now=now, interval=interval)
    return report


def _write(
    factory: sessionmaker[Session],
    context: SyncContext,
    plan: SyncPlan,
    verdict: DropVerdict,
    report: SyncReport,
    *,
    batch_size: int,
) -> None:
    for batch in chunks(plan.writes, batch_size):
        with factory.begin() as session:
            _write_batch(session, context, batch, plan.stored_ids, report)
    # The provider said so of each one: no drop guard holds cancellations back.
    for ids in chunks(plan.cancellations, batch_size):
        with factory.begin() as session:
            report.updated += _cancel(session, ids, now=context.now)
            report.reminders.cancelled += cancel_scheduled(
                session, ids, CancelReason.APPOINTMENT_CANCELLED, now=context.now
            )
    if not verdict.apply_removals:
        report.held_removals = len(plan.removals)
        return
    for ids in chunks(plan.removals, batch_size):
        with factory.begin() as session:
            report.removed += _remove(session, ids, now=context.now)
            report.reminders.cancelled += cancel_scheduled(
                session, ids, CancelReason.APPOINTMENT_DELETED, now=context.now
            )


def _write_batch(
    session: Session,
    context: SyncContext,
    batch: Sequence[PreparedEvent],
    stored_ids: Mapping[str, int],
    report: SyncReport,
) -> None:
    """Create or update one batch of appointments and bring their reminders in line."""
    now = context.now
    # By primary key, and only the rows the plan found: a first sync of a big calendar queries
    # nothing here, and PostgreSQL's statistics of a table growing batch by batch cannot mislead it.
    ids = [stored_ids[p.event.external_id] for p in batch if p.event.external_id in stored_ids]
    stored = {a.external_id: a for a in session.scalars(select(Appointment).where(Appointment.id.in_(ids)))}
    to_plan: list[Appointment] = []
    cancelled: list[Appointment] = []
    for prepared in batch:
        appointment = stored.get(prepared.event.external_id)
        if appointment is None:
            appointment = Appointment(calendar_id=context.connection_id, first_seen_at=now)
            session.add(appointment)
            report.created += 1
        else:
            report.updated += 1
        apply_event(appointment, prepared, now=now)
        (cancelled if prepared.event.cancelled else to_plan).append(appointment)
    session.flush()  # new appointments get their ids
    if cancelled:
        report.reminders.cancelled += cancel_scheduled(
            session, [a.id for a in cancelled], CancelReason.APPOINTMENT_CANCELLED, now=now
        )
    horizon_end = now + context.horizon
    beyond = [a.id for a in to_plan if a.starts_at >= horizon_end]
    if beyond:  # moved out of the horizon: its reminders come back when it comes within it
        report.reminders.cancelled += cancel_scheduled(
            session, beyond, CancelReason.APPOINTMENT_MOVED, now=now
        )
    to_plan = [a for a in to_plan if a.starts_at < horizon_end]
    existing: dict[int, list[Reminder]] = {}
    known = set(ids)  # reminders exist only for appointments that were stored before
    if known:
        stmt = select(Reminder).where(Reminder.appointment_id.in_([a.id for a in to_plan if a.id in known]))
        for row in session.scalars(stmt):
            existing.setdefault(row.appointment_id, []).append(row)
    new = NewReminders()
    for appointment in to_plan:
        report.reminders.add(
            reconcile(
                appointment, existing.get(appointment.id, ()), context.rules, context.policy, now=now, new=new
            )
        )
    session.flush()
    # The earliest send this batch planned or moved, known without asking the database.
    moved = (r.due_at for rows in existing.values() for r in rows if r.state == ReminderState.SCHEDULED)
    report.saw_due(min((d for d in (*moved, *new.scheduled_due()) if d is not None), default=None))
    new.insert(session)


def _remove(session: Session, ids: Sequence[int], *, now: datetime) -> int:
    result = session.execute(
        update(Appointment)
        .where(Appointment.id.in_(ids), Appointment.status != STATUS_REMOVED)
        .values(status=STATUS_REMOVED, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _cancel(session: Session, ids: Sequence[int], *, now: datetime) -> int:
    """Mark confirmed appointments cancelled, keeping what was last known of them."""
    result = session.execute(
        update(Appointment)
        .where(Appointment.id.in_(ids), Appointment.status == STATUS_CONFIRMED)
        .values(status=STATUS_CANCELLED, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def held_drop(connection: CalendarConnection) -> HeldDrop | None:
    """The drop this connection is holding back, if any."""
    if not connection.held_removals or connection.held_since is None:
        return None
    return HeldDrop(
        removals=connection.held_removals,
        upcoming=connection.held_upcoming,
        sightings=connection.held_sightings,
        since=connection.held_since,
        confirmed_at=connection.held_confirmed_at,
    )


def _record_success(
    connection: CalendarConnection,
    changes: CalendarChanges,
    report: SyncReport,
    verdict: DropVerdict,
    *,
    now: datetime,
    interval: timedelta,
) -> None:
    hold = verdict.hold
    if changes.complete or hold is not None:
        connection.held_removals = hold.removals if hold else 0
        connection.held_upcoming = hold.upcoming if hold else 0
        connection.held_sightings = hold.sightings if hold else 0
        connection.held_since = hold.since if hold else None
        connection.held_confirmed_at = None
    # While a drop is held, forget the cursor: the next sync must see a whole snapshot again to
    # confirm the drop or find the appointments back (an ICS hash or a sync token would say
    # "unchanged" or send only what changed since).
    connection.cursor = None if hold is not None else changes.cursor
    if not changes.unchanged:
        connection.sync_warnings = _stored_warnings(connection.sync_warnings, report.warnings, changes)
    connection.last_synced_at = now
    connection.first_synced_at = connection.first_synced_at or now
    connection.last_sync_error = None
    connection.last_sync_error_at = None
    connection.sync_failures = 0
    connection.next_sync_at = now + interval


def _stored_warnings(old: Sequence[str], new: Sequence[str], changes: CalendarChanges) -> list[str]:
    """A complete snapshot replaces the warnings; an incremental one adds to them."""
    kept = [] if changes.complete else list(old or ())
    kept += [w for w in new if w not in kept]
    return kept[-MAX_STORED_WARNINGS:]


def record_sync_failure(
    factory: sessionmaker[Session],
    connection_id: int,
    message: str,
    *,
    now: datetime,
    interval: timedelta,
    access_revoked: bool = False,
) -> SyncReport:
    """Keep the error on the connection for its owner and schedule the retry (backing off)."""
    log.warning("calendar.sync.failed calendar=%s error=%s", connection_id, message)
    with factory.begin() as session:
        connection = session.get_one(CalendarConnection, connection_id)
        connection.last_sync_error = message
        connection.last_sync_error_at = now
        connection.sync_failures += 1
        backoff = min(timedelta(minutes=2 ** min(connection.sync_failures - 1, 6)), MAX_BACKOFF)
        # Revoked access only comes back when the owner reconnects (which syncs at once).
        connection.next_sync_at = now + (REVOKED_RETRY if access_revoked else min(backoff, interval))
    return SyncReport(connection_id=connection_id, error=message, access_revoked=access_revoked)


__all__ = [
    "EARLIEST",
    "LATEST",
    "SyncLimits",
    "SyncReport",
    "record_sync_failure",
    "store_changes",
    "sync_connection",
    "usable_event",
]
