"""Connecting Google calendars: consent, picking calendars, push channels, disconnecting.

The consent round trip is bound to the browser session that started it: the `state` sent to
Google is a signed nonce, and the callback must come back in the same session, once, within a
few minutes. The PKCE verifier stays on the server.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.calendars.base import CalendarError
from connectors.calendars.google import (
    CalendarInfo,
    GoogleCalendarSource,
    GoogleToken,
    authorization_request,
    exchange_code,
    revoke,
)
from reminders.bootstrap import Services
from reminders.calendars import grants
from reminders.calendars.configure import add_rule
from reminders.models import CalendarConnection, OAuthFlow, OAuthGrant
from reminders.planning.reconcile import cancel_scheduled_from
from reminders.reasons import CancelReason

log = logging.getLogger(__name__)

PROVIDER = "google"
FLOW_TTL = timedelta(minutes=15)
PUSH_DEBOUNCE = timedelta(seconds=2)
RENEW_BEFORE = timedelta(hours=1)
DEFAULT_RULES = ("24h",)


class ConnectError(Exception):
    """Connecting failed in a way the owner can act on; the message says how."""


@dataclass(frozen=True, slots=True)
class PushResult:
    """What a push notification led to."""

    accepted: bool
    connection_id: int | None = None


def start_connect(services: Services, *, account_id: int, session_id: str) -> str:
    """The URL of Google's consent page for this account, with a state bound to the browser session."""
    now = services.clock()
    nonce = secrets.token_urlsafe(24)
    with services.factory.begin() as session:
        has_refresh = _live_grant(session, account_id) is not None
        url, verifier = authorization_request(
            services.google_client,
            services.google_endpoints,
            state=services.signer.sign(nonce),
            have_refresh_token=has_refresh,
        )
        session.add(
            OAuthFlow(
                nonce=nonce,
                account_id=account_id,
                provider=PROVIDER,
                session_id=session_id,
                code_verifier=verifier,
                created_at=now,
            )
        )
    return url


def finish_connect(services: Services, *, state: str, code: str, session_id: str) -> int:
    """Exchange the code from Google's redirect for tokens and keep them; returns the grant id."""
    now = services.clock()
    nonce = services.signer.unsign(state)
    if nonce is None:
        raise ConnectError("This Google sign-in link is not valid. Please start connecting again.")
    with services.factory.begin() as session:
        flow = session.get(OAuthFlow, nonce)
        if flow is None or flow.used_at is not None or not hmac.compare_digest(flow.session_id, session_id):
            raise ConnectError(
                "This Google sign-in was already used or started elsewhere. Please start again."
            )
        if flow.created_at < now - FLOW_TTL:
            raise ConnectError("The Google sign-in took too long. Please start connecting again.")
        flow.used_at = now
        account_id, verifier = flow.account_id, flow.code_verifier
    token = exchange_code(
        services.google_client, services.google_endpoints, code=code, code_verifier=verifier
    )
    with services.factory.begin() as session:
        if token.refresh_token is None:  # Google sends one only on first consent; keep the one we have
            previous = _live_grant(session, account_id)
            if previous is None:
                raise ConnectError(
                    "Google did not grant lasting access. Please connect again and allow access."
                )
            stored = GoogleToken.from_json(grants.token_of(services.cipher, previous))
            token = GoogleToken(token.access_token, stored.refresh_token, token.expiry, token.scopes)
        grant = grants.store_grant(
            session,
            services.cipher,
            account_id=account_id,
            provider=PROVIDER,
            subject="",
            token_json=token.to_json(),
            scopes=" ".join(token.scopes),
            now=now,
        )
        return grant.id


def calendars_of_grant(services: Services, *, account_id: int, grant_id: int) -> list[CalendarInfo]:
    """The Google calendars a grant can read (for the picker)."""
    with services.factory.begin() as session:
        grant = _grant(session, account_id, grant_id)
        source = services.google_source("primary", grant, "UTC")
    calendars = source.list_calendars()
    primary = next((c for c in calendars if c.primary), None)
    if primary is not None:
        with services.factory.begin() as session:
            _grant(session, account_id, grant_id).subject = primary.id
    return calendars


def connect_calendars(
    services: Services, *, account_id: int, grant_id: int, calendar_ids: Sequence[str]
) -> list[int]:
    """Connect the chosen calendars (each its own connection), sync them and start push; returns their ids."""
    available = {c.id: c for c in calendars_of_grant(services, account_id=account_id, grant_id=grant_id)}
    unknown = [c for c in calendar_ids if c not in available]
    if unknown or not calendar_ids:
        raise ConnectError("Choose at least one of the calendars listed.")
    connected: list[int] = []
    with services.factory.begin() as session:
        for calendar_id in calendar_ids:
            info = available[calendar_id]
            connection = _connection_for(session, account_id, calendar_id)
            if connection is None:
                connection = CalendarConnection(
                    account_id=account_id,
                    provider=PROVIDER,
                    external_id=calendar_id,
                    name=info.summary or calendar_id,
                )
                session.add(connection)
                session.flush()
                for rule in DEFAULT_RULES:
                    add_rule(session, connection.id, rule)
            connection.grant_id, connection.timezone = grant_id, info.time_zone or connection.timezone
            connection.disconnected_at, connection.enabled = None, True
            connection.next_sync_at, connection.sync_failures, connection.last_sync_error = None, 0, None
            connected.append(connection.id)
    from reminders.calendars.service import sync_one  # the sync service depends on this module's callers

    for connection_id in connected:
        sync_one(services, connection_id)
        ensure_channel(services, connection_id)
    return connected


def ensure_channel(services: Services, connection_id: int) -> bool:
    """Open (or replace) the push channel of a Google connection; polling stays the safety net."""
    now = services.clock()
    with services.factory.begin() as session:
        connection = session.get_one(CalendarConnection, connection_id)
        grant = session.get(OAuthGrant, connection.grant_id) if connection.grant_id else None
        if grant is None or grant.revoked_at is not None or connection.disconnected_at is not None:
            return False
        source = services.google_source(connection.external_id, grant, connection.timezone or "UTC")
        old = (connection.push_channel_id, connection.push_resource_id)
    channel_id, token = uuid.uuid4().hex, secrets.token_urlsafe(32)
    address = services.settings.public_url.rstrip("/") + "/webhooks/google"
    try:
        channel = source.watch(
            channel_id=channel_id,
            address=address,
            token=token,
            ttl_seconds=services.settings.google_channel_ttl_seconds,
        )
    except CalendarError as exc:
        log.warning("google.watch.failed calendar=%s error=%s", connection_id, exc)
        return False
    with services.factory.begin() as session:
        connection = session.get_one(CalendarConnection, connection_id)
        connection.push_channel_id, connection.push_resource_id = channel.id, channel.resource_id
        ttl = timedelta(seconds=services.settings.google_channel_ttl_seconds)
        connection.push_token, connection.push_expires_at = token, channel.expiration or now + ttl
    if old[0] and old[1]:
        _stop_quietly(source, old[0], old[1])
    log.info("google.watch.started calendar=%s expires=%s", connection_id, channel.expiration)
    return True


def handle_push(services: Services, *, channel_id: str, token: str, resource_state: str) -> PushResult:
    """A notification from Google: verify it, then ask for a (debounced) incremental sync."""
    now = services.clock()
    with services.factory.begin() as session:
        connection = session.scalars(
            select(CalendarConnection).where(CalendarConnection.push_channel_id == channel_id)
        ).first()
        if (
            connection is None
            or not connection.push_token
            or not hmac.compare_digest(connection.push_token, token)
        ):
            return PushResult(accepted=False)
        if resource_state == "sync":  # the channel's hello; nothing changed yet
            return PushResult(accepted=True, connection_id=connection.id)
        due = now + PUSH_DEBOUNCE
        if connection.next_sync_at is None or connection.next_sync_at > due:
            connection.next_sync_at = due  # several notifications in a burst make one sync
        return PushResult(accepted=True, connection_id=connection.id)


def renew_channels(services: Services) -> int:
    """Replace push channels that expire within the hour; returns how many were renewed."""
    soon = services.clock() + RENEW_BEFORE
    with services.factory.begin() as session:
        ids = list(
            session.scalars(
                select(CalendarConnection.id).where(
                    CalendarConnection.provider == PROVIDER,
                    CalendarConnection.disconnected_at.is_(None),
                    CalendarConnection.push_expires_at.is_not(None),
                    CalendarConnection.push_expires_at < soon,
                )
            )
        )
    return sum(ensure_channel(services, connection_id) for connection_id in ids)


def disconnect(services: Services, *, account_id: int, connection_id: int) -> int:
    """Stop push, revoke access if no other calendar uses it, cancel future reminders; returns how many."""
    now = services.clock()
    with services.factory.begin() as session:
        connection = session.get(CalendarConnection, connection_id)
        if connection is None or connection.account_id != account_id:
            raise ConnectError("That calendar is not connected.")
        grant = session.get(OAuthGrant, connection.grant_id) if connection.grant_id else None
        channel = (connection.push_channel_id, connection.push_resource_id)
        source = services.google_source(connection.external_id, grant, "UTC") if grant else None
        others = (
            [c for c in grants.connections_of(session, grant.id) if c.id != connection_id] if grant else []
        )
        connection.disconnected_at, connection.enabled, connection.next_sync_at = now, False, None
        connection.push_channel_id = connection.push_resource_id = connection.push_token = None
        connection.push_expires_at = None
        cancelled = cancel_scheduled_from(session, connection_id, CancelReason.CALENDAR_DISCONNECTED, now=now)
        token = (
            GoogleToken.from_json(grants.token_of(services.cipher, grant)) if grant and not others else None
        )
        if grant is not None and not others:
            grants.mark_revoked(session, grant.id, "disconnected by the owner", now=now)
    if source is not None and channel[0] and channel[1]:
        _stop_quietly(source, channel[0], channel[1])
    if token is not None:
        try:
            revoke(services.google_endpoints, token.refresh_token or token.access_token, services.http)
        except CalendarError as exc:  # the grant is already unusable here; Google drops it in time
            log.warning("google.revoke.failed calendar=%s error=%s", connection_id, exc)
    return cancelled


def _stop_quietly(source: GoogleCalendarSource, channel_id: str, resource_id: str) -> None:
    try:
        source.stop_channel(channel_id, resource_id)
    except CalendarError as exc:  # an unknown or expired channel is already stopped
        log.info("google.channel.stop_failed channel=%s error=%s", channel_id, exc)


def _live_grant(session: Session, account_id: int) -> OAuthGrant | None:
    stmt = (
        select(OAuthGrant)
        .where(
            OAuthGrant.account_id == account_id,
            OAuthGrant.provider == PROVIDER,
            OAuthGrant.revoked_at.is_(None),
        )
        .order_by(OAuthGrant.id.desc())
    )
    return session.scalars(stmt).first()


def _grant(session: Session, account_id: int, grant_id: int) -> OAuthGrant:
    grant = session.get(OAuthGrant, grant_id)
    if grant is None or grant.account_id != account_id or grant.revoked_at is not None:
        raise ConnectError("That Google access is not available any more. Please connect again.")
    return grant


def _connection_for(session: Session, account_id: int, calendar_id: str) -> CalendarConnection | None:
    stmt = select(CalendarConnection).where(
        CalendarConnection.account_id == account_id,
        CalendarConnection.provider == PROVIDER,
        CalendarConnection.external_id == calendar_id,
    )
    return session.scalars(stmt).first()
