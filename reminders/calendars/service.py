"""Syncing the calendars that are due, each with the right connector."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select, update

from connectors.calendars.base import CalendarSource
from reminders.bootstrap import Services, UnsupportedProvider
from reminders.calendars import grants
from reminders.calendars.drop_guard import DropGuard
from reminders.calendars.sync import SyncLimits, SyncReport, record_sync_failure, sync_connection
from reminders.models import Account, CalendarConnection, OAuthGrant
from reminders.security.secrets import SecretDecryptionError
from reminders.settings import Settings

log = logging.getLogger(__name__)

REVOKED_MESSAGE = "Access to this calendar was revoked or has expired; reconnect it to resume reminders."
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
        .where(
            CalendarConnection.disconnected_at.is_(None),
            or_(CalendarConnection.next_sync_at.is_(None), CalendarConnection.next_sync_at <= now),
        )
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
    """Sync a connection with the connector its provider needs; problems end up on the connection."""
    now = services.clock()
    interval = timedelta(seconds=services.settings.sync_interval_seconds)
    with services.factory.begin() as session:
        connection = session.get_one(CalendarConnection, connection_id)
        account = session.get_one(Account, connection.account_id)
        grant = session.get(OAuthGrant, connection.grant_id) if connection.grant_id else None
        try:
            source: CalendarSource | CalendarSetupError = _source(services, connection, account, grant)
        except CalendarSetupError as exc:
            source = exc
    if isinstance(source, CalendarSetupError):  # recorded after the read transaction has ended
        return record_sync_failure(
            services.factory,
            connection_id,
            str(source),
            now=now,
            interval=interval,
            access_revoked=source.revoked,
        )
    report = sync_connection(
        services.factory,
        connection_id,
        source,
        now=now,
        horizon_days=services.settings.planning_horizon_days,
        interval=interval,
        limits=sync_limits(services.settings),
    )
    if report.access_revoked and grant is not None:
        with services.factory.begin() as session:
            grants.mark_revoked(session, grant.id, report.error or REVOKED_MESSAGE, now=now)
    log.info(
        "calendar.sync.done calendar=%s unchanged=%s created=%s updated=%s removed=%s error=%s",
        connection_id, report.unchanged, report.created, report.updated, report.removed, report.error,
    )  # fmt: skip
    return report


def sync_limits(settings: Settings) -> SyncLimits:
    """The sync bounds and the drop guard as configured."""
    return SyncLimits(
        max_events=settings.sync_max_events,
        batch_size=settings.sync_batch_size,
        guard=DropGuard(
            confirmations=settings.sync_drop_confirmations,
            min_hold=timedelta(minutes=settings.sync_drop_hold_minutes),
        ),
    )


class CalendarSetupError(Exception):
    """The calendar cannot be read at all as configured; the message is for its owner."""

    def __init__(self, message: str, *, revoked: bool = False) -> None:
        super().__init__(message)
        self.revoked = revoked


def _source(
    services: Services, connection: CalendarConnection, account: Account, grant: OAuthGrant | None
) -> CalendarSource:
    if grant is not None and grant.revoked_at is not None:
        raise CalendarSetupError(REVOKED_MESSAGE, revoked=True)
    try:
        return services.calendar_source(connection, account, grant)
    except (UnsupportedProvider, SecretDecryptionError) as exc:
        raise CalendarSetupError(str(exc)) from exc
    except ValueError as exc:  # e.g. a calendar or account time zone this machine does not know
        raise CalendarSetupError(f"The calendar's settings are not usable: {exc}") from exc


def sync_due(services: Services) -> list[SyncReport]:
    """Sync every connection that is due now."""
    return [sync_one(services, connection_id) for connection_id in claim_due_connections(services)]
