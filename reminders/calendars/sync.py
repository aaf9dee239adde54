"""Sync one calendar connection: pull changes, upsert appointments, (re)plan reminders.

The provider is read outside any transaction; everything it changed is then written in one
transaction together with the new cursor, so a crash never leaves half a sync behind. Any
failure is recorded on the connection in words its owner can act on, nothing already planned
is touched, and the next sync simply retries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connectors.calendars.base import (
    AccessRevoked,
    CalendarChanges,
    CalendarError,
    CalendarSource,
    RemoteEvent,
)
from reminders.appointments.upsert import STATUS_REMOVED, apply_event, content_hash
from reminders.batching import chunks
from reminders.models import Account, Appointment, CalendarConnection, Reminder, ReminderRuleRow
from reminders.planning.reconcile import (
    NewReminders,
    ReconcileCounts,
    cancel_scheduled,
    policy_for,
    reconcile,
    rules_from_rows,
)
from reminders.reasons import CancelReason, ReminderState

log = logging.getLogger(__name__)

# How far back a sync looks, so an appointment running right now is still known.
LOOKBACK = timedelta(days=1)
# Times outside this range come from broken feeds; planning arithmetic must never overflow.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
# Back-off after failures: 1, 2, 4 … minutes, never more than an hour.
MAX_BACKOFF = timedelta(hours=1)
REVOKED_RETRY = timedelta(hours=6)


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


def sync_connection(
    factory: sessionmaker[Session],
    connection_id: int,
    source: CalendarSource,
    *,
    now: datetime,
    horizon_days: int,
    interval: timedelta = timedelta(minutes=5),
) -> SyncReport:
    """Run one sync of the connection against `source`; never raises for provider trouble."""
    with factory.begin() as session:
        connection = session.get_one(CalendarConnection, connection_id)
        cursor = connection.cursor
    window_start, window_end = now - LOOKBACK, now + timedelta(days=horizon_days)
    try:
        changes = source.fetch_changes(cursor, window_start=window_start, window_end=window_end)
    except CalendarError as exc:
        revoked = isinstance(exc, AccessRevoked)
        return record_sync_failure(
            factory, connection_id, str(exc), now=now, interval=interval, access_revoked=revoked
        )
    except Exception as exc:  # a connector bug must not stop the other calendars
        log.exception("calendar.sync.crashed calendar=%s", connection_id)
        return record_sync_failure(
            factory,
            connection_id,
            f"Unexpected error while reading the calendar: {exc}",
            now=now,
            interval=interval,
        )
    try:
        return _store(
            factory, connection_id, changes, now=now, interval=interval, horizon=timedelta(days=horizon_days)
        )
    except Exception as exc:  # the transaction rolled back: nothing half-written, retried next time
        log.exception("calendar.sync.store_failed calendar=%s", connection_id)
        return record_sync_failure(
            factory,
            connection_id,
            f"Could not store the calendar's changes: {exc}",
            now=now,
            interval=interval,
        )


def _store(
    factory: sessionmaker[Session],
    connection_id: int,
    changes: CalendarChanges,
    *,
    now: datetime,
    interval: timedelta,
    horizon: timedelta,
) -> SyncReport:
    with factory.begin() as session:
        report = apply_changes(session, connection_id, changes, now=now, horizon=horizon)
        connection = session.get_one(CalendarConnection, connection_id)
        connection.cursor = changes.cursor
        connection.last_synced_at = now
        connection.last_sync_error = None
        connection.last_sync_error_at = None
        connection.sync_failures = 0
        connection.next_sync_at = now + interval
    return report


def apply_changes(
    session: Session,
    connection_id: int,
    changes: CalendarChanges,
    *,
    now: datetime,
    horizon: timedelta = timedelta(days=60),
) -> SyncReport:
    """Write `changes` for the connection inside the caller's transaction.

    Appointments starting beyond `now + horizon` are stored but get no reminders yet;
    `planning.horizon.plan_entering_horizon` plans them when they come within it.
    """
    report = SyncReport(
        connection_id=connection_id, unchanged=changes.unchanged, warnings=tuple(changes.warnings)
    )
    if changes.unchanged:
        return report
    connection = session.get_one(CalendarConnection, connection_id)
    account = session.get_one(Account, connection.account_id)
    rule_rows = session.scalars(
        select(ReminderRuleRow).where(ReminderRuleRow.calendar_id == connection_id)
    ).all()
    rules = rules_from_rows(rule_rows)
    policy = policy_for(account, connection)
    fields, region = list(connection.phone_fields), account.home_region

    known = _load_known(session, connection_id, changes)
    to_plan: list[Appointment] = []
    to_cancel: dict[CancelReason, list[Appointment]] = {}
    seen: set[str] = set()
    warnings = list(changes.warnings)
    for raw_event in changes.events:
        if raw_event.external_id in seen:
            continue  # a feed may repeat an event; the first one wins
        seen.add(raw_event.external_id)
        event = usable_event(raw_event)
        if event is None:
            warnings.append(f"Ignored event {raw_event.external_id[:80]!r}: its start time is not usable.")
            continue
        digest = content_hash(event, fields, region)
        appointment = known.get(event.external_id)
        if (
            appointment is not None
            and appointment.content_hash == digest
            and appointment.status != STATUS_REMOVED
        ):
            continue
        if appointment is None:
            appointment = Appointment(calendar_id=connection_id, first_seen_at=now)
            session.add(appointment)
            known[event.external_id] = appointment
            report.created += 1
        else:
            report.updated += 1
        apply_event(appointment, event, digest=digest, phone_fields=fields, region=region, now=now)
        if event.cancelled:
            to_cancel.setdefault(CancelReason.APPOINTMENT_CANCELLED, []).append(appointment)
        else:
            to_plan.append(appointment)

    for appointment in _removed(known, changes, seen):
        appointment.status = STATUS_REMOVED
        appointment.updated_at = now
        to_cancel.setdefault(CancelReason.APPOINTMENT_DELETED, []).append(appointment)
        report.removed += 1

    session.flush()  # new appointments get their ids
    for reason, appointments in to_cancel.items():
        report.reminders.cancelled += cancel_scheduled(session, [a.id for a in appointments], reason, now=now)
    horizon_end = now + horizon
    beyond = [a.id for a in to_plan if a.starts_at >= horizon_end]
    if beyond:  # moved out of the horizon: its reminders come back when it comes within it
        report.reminders.cancelled += cancel_scheduled(
            session, beyond, CancelReason.APPOINTMENT_MOVED, now=now
        )
    to_plan = [a for a in to_plan if a.starts_at < horizon_end]
    existing = _reminders_by_appointment(session, [a.id for a in to_plan])
    new = NewReminders()
    for appointment in to_plan:
        report.reminders.add(
            reconcile(appointment, existing.get(appointment.id, ()), rules, policy, now=now, new=new)
        )
    session.flush()
    new.insert(session)
    report.earliest_due = _earliest_due(session, [a.id for a in to_plan])
    report.warnings = tuple(warnings)
    return report


def usable_event(event: RemoteEvent) -> RemoteEvent | None:
    """The event if its times can be planned with (an end before the start is set to the start)."""
    if event.start.tzinfo is None or event.end.tzinfo is None:
        return None
    if not (EARLIEST <= event.start <= LATEST):
        return None
    if event.end < event.start or event.end > LATEST:
        return replace(event, end=event.start)
    return event


def _load_known(session: Session, connection_id: int, changes: CalendarChanges) -> dict[str, Appointment]:
    """The stored appointments this change set can touch, by external id."""
    known: dict[str, Appointment] = {}
    if changes.complete:  # a snapshot: everything stored in its window may have to be removed
        query = select(Appointment).where(Appointment.calendar_id == connection_id)
        if changes.window_start is not None:
            query = query.where(Appointment.ends_at > changes.window_start)
        known = {a.external_id: a for a in session.scalars(query)}
    wanted = [e.external_id for e in changes.events if e.external_id not in known]
    wanted += [i for i in changes.removed_ids if i not in known]
    for chunk in chunks(wanted):
        stmt = select(Appointment).where(
            Appointment.calendar_id == connection_id, Appointment.external_id.in_(chunk)
        )
        known.update((a.external_id, a) for a in session.scalars(stmt))
    # A removed id may name a whole series (a deleted recurring event): load its instances too.
    for chunk in chunks(list(changes.removed_ids)):
        stmt = select(Appointment).where(
            Appointment.calendar_id == connection_id, Appointment.series_id.in_(chunk)
        )
        known.update((a.external_id, a) for a in session.scalars(stmt))
    return known


def _removed(
    known: dict[str, Appointment], changes: CalendarChanges, seen: set[str]
) -> Iterable[Appointment]:
    removed = set(changes.removed_ids)
    gone = {
        i for i, a in known.items() if i in removed or (a.series_id is not None and a.series_id in removed)
    }
    if changes.complete:
        start, end = changes.window_start or EARLIEST, changes.window_end or LATEST
        gone.update(
            external_id
            for external_id, a in known.items()
            if external_id not in seen and a.starts_at < end and a.ends_at > start
        )
    return [known[i] for i in sorted(gone) if known[i].status not in (STATUS_REMOVED,)]


def _reminders_by_appointment(session: Session, ids: Sequence[int]) -> dict[int, list[Reminder]]:
    found: dict[int, list[Reminder]] = {}
    for chunk in chunks(ids):
        for row in session.scalars(select(Reminder).where(Reminder.appointment_id.in_(chunk))):
            found.setdefault(row.appointment_id, []).append(row)
    return found


def _earliest_due(session: Session, ids: Sequence[int]) -> datetime | None:
    earliest: datetime | None = None
    for chunk in chunks(ids):
        stmt = select(Reminder.due_at).where(
            Reminder.appointment_id.in_(chunk), Reminder.state == ReminderState.SCHEDULED
        )
        for due in session.scalars(stmt):
            if due is not None and (earliest is None or due < earliest):
                earliest = due
    return earliest


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


__all__ = ["RemoteEvent", "SyncReport", "apply_changes", "sync_connection"]
