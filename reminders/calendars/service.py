"""Syncing the calendars that are due, one at a time, with the right connector."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select, update

from reminders.bootstrap import Services, UnsupportedProvider
from reminders.calendars.sync import SyncReport, record_sync_failure, sync_connection
from reminders.models import Account, CalendarConnection

log = logging.getLogger(__name__)

# How long a claimed sync may take before another worker may try the calendar again.
SYNC_LEASE = timedelta(minutes=10)


def claim_due_connections(services: Services, *, limit: int = 50) -> list[int]:
    """Claim the connections whose next sync time has come (or that never synced).

    One statement, like the reminder claim: with several workers on PostgreSQL each due calendar
    is synced by exactly one of them. The claim pushes `next_sync_at` one lease ahead, so a
    worker that dies mid-sync only delays that calendar; a finished sync sets the real next time.
    """
    now = services.clock()
    due = (
        select(CalendarConnection.id)
        .where(or_(CalendarConnection.next_sync_at.is_(None), CalendarConnection.next_sync_at <= now))
        .order_by(CalendarConnection.next_sync_at.nulls_first(), CalendarConnection.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claim = (
        update(CalendarConnection)
        .where(CalendarConnection.id.in_(due.scalar_subquery()))
        .values(next_sync_at=now + SYNC_LEASE)
        .returning(CalendarConnection.id)
        .execution_options(synchronize_session=False)
    )
    with services.factory.begin() as session:
        return sorted(session.scalars(claim))


def sync_one(services: Services, connection_id: int) -> SyncReport:
    """Sync a connection with the connector its provider needs."""
    now = services.clock()
    interval = timedelta(seconds=services.settings.sync_interval_seconds)
    with services.factory.begin() as session:
        connection = session.get_one(CalendarConnection, connection_id)
        account = session.get_one(Account, connection.account_id)
        try:
            source = services.calendar_source(connection, account)
        except UnsupportedProvider as exc:
            source, problem = None, str(exc)
        except ValueError as exc:  # e.g. a calendar or account time zone this machine does not know
            source, problem = None, f"The calendar's settings are not usable: {exc}"
    if source is None:
        return record_sync_failure(services.factory, connection_id, problem, now=now, interval=interval)
    report = sync_connection(
        services.factory,
        connection_id,
        source,
        now=now,
        horizon_days=services.settings.planning_horizon_days,
        interval=interval,
    )
    log.info(
        "calendar.sync.done calendar=%s unchanged=%s created=%s updated=%s removed=%s error=%s",
        connection_id, report.unchanged, report.created, report.updated, report.removed, report.error,
    )  # fmt: skip
    return report


def sync_due(services: Services) -> list[SyncReport]:
    """Sync every connection that is due now."""
    return [sync_one(services, connection_id) for connection_id in claim_due_connections(services)]
