"""What connecting any OAuth calendar provider has in common.

The consent round trip is bound to the browser session that started it: the `state` sent to the
provider is a signed nonce, the server keeps the nonce with the session id and the flow's
secrets (encrypted), and the callback must come back in the same session, once, within a few
minutes. Connections, push hints and disconnecting work the same for every provider too.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from reminders.bootstrap import Services
from reminders.calendars import grants
from reminders.calendars.configure import add_rule
from reminders.models import CalendarConnection, OAuthFlow, OAuthGrant
from reminders.planning.reconcile import cancel_scheduled_from
from reminders.reasons import CancelReason
from reminders.settings import Settings

FLOW_TTL = timedelta(minutes=15)
PUSH_DEBOUNCE = timedelta(seconds=2)
DEFAULT_RULES = ("24h",)


class ConnectError(Exception):
    """Connecting failed in a way the owner can act on; the message says how."""


def new_nonce_state(services: Services) -> tuple[str, str]:
    """A nonce and its signed form, for providers whose flow must know the state before it is stored."""
    nonce = secrets.token_urlsafe(24)
    return nonce, services.signer.sign(nonce)


def store_flow(services: Services, session: Session, *, nonce: str, account_id: int, provider: str,
               session_id: str, secret: str) -> None:  # fmt: skip
    """Remember a consent round trip under a nonce made by `new_nonce_state`."""
    session.add(
        OAuthFlow(
            nonce=nonce,
            account_id=account_id,
            provider=provider,
            session_id=session_id,
            payload=services.cipher.encrypt(secret),
            created_at=services.clock(),
        )
    )


def consume_flow(
    services: Services, *, state: str, session_id: str, provider: str, label: str
) -> tuple[int, str]:
    """The account and secret of the flow `state` names, once; `ConnectError` for anything else."""
    now = services.clock()
    nonce = services.signer.unsign(state)
    if nonce is None:
        raise ConnectError(f"This {label} sign-in link is not valid. Please start connecting again.")
    with services.factory.begin() as session:
        flow = session.get(OAuthFlow, nonce)
        if (
            flow is None
            or flow.provider != provider
            or flow.used_at is not None
            or not hmac.compare_digest(flow.session_id, session_id)
        ):
            raise ConnectError(
                f"This {label} sign-in was already used or started elsewhere. Please start again."
            )
        if flow.created_at < now - FLOW_TTL:
            raise ConnectError(f"The {label} sign-in took too long. Please start connecting again.")
        flow.used_at = now
        return flow.account_id, services.cipher.decrypt(flow.payload)


def live_grant(session: Session, account_id: int, provider: str) -> OAuthGrant | None:
    """The account's newest grant from `provider` that still works."""
    stmt = (
        select(OAuthGrant)
        .where(
            OAuthGrant.account_id == account_id,
            OAuthGrant.provider == provider,
            OAuthGrant.revoked_at.is_(None),
        )
        .order_by(OAuthGrant.id.desc())
    )
    return session.scalars(stmt).first()


def usable_grant(session: Session, account_id: int, grant_id: int) -> OAuthGrant:
    """A grant of this account that still works; `ConnectError` otherwise."""
    grant = session.get(OAuthGrant, grant_id)
    if grant is None or grant.account_id != account_id or grant.revoked_at is not None:
        raise ConnectError("That access is not available any more. Please connect again.")
    return grant


def link_connection(
    session: Session,
    *,
    account_id: int,
    provider: str,
    calendar_id: str,
    name: str,
    timezone: str | None,
    grant_id: int,
) -> CalendarConnection:
    """The connection for a picked calendar: created with the default rules, or revived after a reconnect."""
    connection = session.scalars(
        select(CalendarConnection).where(
            CalendarConnection.account_id == account_id,
            CalendarConnection.provider == provider,
            CalendarConnection.external_id == calendar_id,
        )
    ).first()
    if connection is None:
        connection = CalendarConnection(
            account_id=account_id, provider=provider, external_id=calendar_id, name=name
        )
        session.add(connection)
        session.flush()
        for rule in DEFAULT_RULES:
            add_rule(session, connection.id, rule)
    connection.grant_id, connection.timezone = grant_id, timezone or connection.timezone
    connection.disconnected_at, connection.enabled = None, True
    connection.next_sync_at, connection.sync_failures, connection.last_sync_error = None, 0, None
    return connection


def connection_by_channel(session: Session, channel_id: str) -> CalendarConnection | None:
    """The connection a push channel or subscription belongs to."""
    stmt = select(CalendarConnection).where(CalendarConnection.push_channel_id == channel_id)
    return session.scalars(stmt).first()


def push_secret_matches(connection: CalendarConnection | None, secret: str) -> bool:
    """Whether a notification carries the secret its channel was opened with (constant time)."""
    return (
        connection is not None
        and bool(connection.push_token)
        and hmac.compare_digest(connection.push_token or "", secret)
    )


def sync_soon(connection: CalendarConnection, now: datetime) -> None:
    """Bring the next sync forward a little: a burst of notifications makes one sync."""
    due = now + PUSH_DEBOUNCE
    if connection.next_sync_at is None or connection.next_sync_at > due:
        connection.next_sync_at = due


def close_connection(session: Session, connection: CalendarConnection, now: datetime) -> int:
    """Mark a connection disconnected and cancel its future reminders; returns how many."""
    connection.disconnected_at, connection.enabled, connection.next_sync_at = now, False, None
    connection.push_channel_id = connection.push_resource_id = connection.push_token = None
    connection.push_expires_at = None
    return cancel_scheduled_from(session, connection.id, CancelReason.CALENDAR_DISCONNECTED, now=now)


@dataclass(frozen=True, slots=True)
class PickerEntry:
    """One calendar offered in the picker after consent."""

    id: str
    name: str
    primary: bool
    time_zone: str | None


class Linker(Protocol):
    """How the web app connects calendars of one provider (a module per provider implements it)."""

    PROVIDER: str
    LABEL: str

    def is_configured(self, settings: Settings) -> bool:
        """Whether this installation has an OAuth client for the provider."""
        ...

    def start_connect(self, services: Services, *, account_id: int, session_id: str) -> str:
        """The provider's consent URL."""
        ...

    def finish_connect(
        self, services: Services, *, state: str, query: Mapping[str, str], session_id: str
    ) -> int:
        """Handle the provider's redirect; returns the new grant's id."""
        ...

    def calendars_of_grant(self, services: Services, *, account_id: int, grant_id: int) -> list[PickerEntry]:
        """The calendars a grant can read."""
        ...

    def connect_calendars(
        self, services: Services, *, account_id: int, grant_id: int, calendar_ids: Sequence[str]
    ) -> list[int]:
        """Connect the picked calendars; returns the connection ids."""
        ...

    def disconnect(self, services: Services, *, account_id: int, connection_id: int) -> int:
        """Disconnect a calendar; returns how many reminders were cancelled."""
        ...


def owned_connection(
    session: Session, account_id: int, connection_id: int
) -> tuple[CalendarConnection, OAuthGrant | None]:
    """A connection of this account and its grant; `ConnectError` when it is not the account's."""
    connection = session.get(CalendarConnection, connection_id)
    if connection is None or connection.account_id != account_id:
        raise ConnectError("That calendar is not connected.")
    grant = session.get(OAuthGrant, connection.grant_id) if connection.grant_id else None
    return connection, grant


def close_and_release(
    session: Session, connection: CalendarConnection, grant: OAuthGrant | None, now: datetime
) -> tuple[int, bool]:
    """Close the connection and, if it was the grant's last calendar, mark the grant revoked.

    Returns (reminders cancelled, whether the grant was released and the provider should be told).
    """
    others = [c for c in grants.connections_of(session, grant.id) if c.id != connection.id] if grant else []
    cancelled = close_connection(session, connection, now)
    if grant is None or others:
        return cancelled, False
    grants.mark_revoked(session, grant.id, "disconnected by the owner", now=now)
    return cancelled, True
