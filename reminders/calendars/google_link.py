"""Connecting Google calendars: consent, picking calendars, push channels, disconnecting."""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

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
from reminders.calendars import grants, linking
from reminders.calendars.linking import ConnectError, PickerEntry
from reminders.models import CalendarConnection, OAuthGrant
from reminders.settings import Settings

log = logging.getLogger(__name__)

PROVIDER = "google"
LABEL = "Google"
RENEW_BEFORE = timedelta(hours=1)
PUSH_DEBOUNCE = linking.PUSH_DEBOUNCE

__all__ = ["ConnectError", "PushResult"]


def is_configured(settings: Settings) -> bool:
    """Whether this installation has a Google OAuth client."""
    return bool(settings.google_client_id)


@dataclass(frozen=True, slots=True)
class PushResult:
    """What a push notification led to."""

    accepted: bool
    connection_id: int | None = None


def start_connect(services: Services, *, account_id: int, session_id: str) -> str:
    """The URL of Google's consent page for this account, with a state bound to the browser session."""
    nonce, state = linking.new_nonce_state(services)
    with services.factory.begin() as session:
        has_refresh = linking.live_grant(session, account_id, PROVIDER) is not None
        url, verifier = authorization_request(
            services.google_client, services.google_endpoints, state=state, have_refresh_token=has_refresh
        )
        linking.store_flow(services, session, nonce=nonce, account_id=account_id, provider=PROVIDER,
                           session_id=session_id, secret=verifier)  # fmt: skip
    return url


def finish_connect(services: Services, *, state: str, query: Mapping[str, str], session_id: str) -> int:
    """Exchange the code from Google's redirect for tokens and keep them; returns the grant id."""
    code = query.get("code", "")
    account_id, verifier = linking.consume_flow(
        services, state=state, session_id=session_id, provider=PROVIDER, label=LABEL
    )
    token = exchange_code(
        services.google_client, services.google_endpoints, code=code, code_verifier=verifier
    )
    with services.factory.begin() as session:
        if token.refresh_token is None:  # Google sends one only on first consent; keep the one we have
            previous = linking.live_grant(session, account_id, PROVIDER)
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
            now=services.clock(),
        )
        return grant.id


def calendars_of_grant(services: Services, *, account_id: int, grant_id: int) -> list[PickerEntry]:
    """The Google calendars a grant can read (for the picker)."""
    return [
        PickerEntry(c.id, c.summary or c.id, c.primary, c.time_zone)
        for c in _calendar_list(services, account_id=account_id, grant_id=grant_id)
    ]


def _calendar_list(services: Services, *, account_id: int, grant_id: int) -> list[CalendarInfo]:
    with services.factory.begin() as session:
        source = services.google_source("primary", linking.usable_grant(session, account_id, grant_id), "UTC")
    calendars = source.list_calendars()
    primary = next((c for c in calendars if c.primary), None)
    if primary is not None:
        with services.factory.begin() as session:
            linking.usable_grant(session, account_id, grant_id).subject = primary.id
    return calendars


def connect_calendars(
    services: Services, *, account_id: int, grant_id: int, calendar_ids: Sequence[str]
) -> list[int]:
    """Connect the chosen calendars (each its own connection), sync them and start push; returns their ids."""
    available = {c.id: c for c in calendars_of_grant(services, account_id=account_id, grant_id=grant_id)}
    if not calendar_ids or any(c not in available for c in calendar_ids):
        raise ConnectError("Choose at least one of the calendars listed.")
    with services.factory.begin() as session:
        connected = [
            linking.link_connection(
                session,
                account_id=account_id,
                provider=PROVIDER,
                calendar_id=calendar_id,
                name=available[calendar_id].name,
                timezone=available[calendar_id].time_zone,
                grant_id=grant_id,
            ).id
            for calendar_id in calendar_ids
        ]
    from reminders.calendars.service import sync_one  # the sync service imports the connectors' wiring

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
    ttl = services.settings.google_channel_ttl_seconds
    try:
        channel = source.watch(channel_id=channel_id, address=address, token=token, ttl_seconds=ttl)
    except CalendarError as exc:
        log.warning("google.watch.failed calendar=%s error=%s", connection_id, exc)
        return False
    with services.factory.begin() as session:
        connection = session.get_one(CalendarConnection, connection_id)
        connection.push_channel_id, connection.push_resource_id = channel.id, channel.resource_id
        connection.push_token = token
        connection.push_expires_at = channel.expiration or now + timedelta(seconds=ttl)
    if old[0] and old[1]:
        _stop_quietly(source, old[0], old[1])
    log.info("google.watch.started calendar=%s expires=%s", connection_id, channel.expiration)
    return True


def handle_push(services: Services, *, channel_id: str, token: str, resource_state: str) -> PushResult:
    """A notification from Google: verify it, then ask for a (debounced) incremental sync."""
    with services.factory.begin() as session:
        connection = linking.connection_by_channel(session, channel_id)
        if connection is None or not linking.push_secret_matches(connection, token):
            return PushResult(accepted=False)
        if resource_state != "sync":  # "sync" is the channel's hello; nothing changed yet
            linking.sync_soon(connection, services.clock())
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
        connection, grant = linking.owned_connection(session, account_id, connection_id)
        channel = (connection.push_channel_id, connection.push_resource_id)
        source = services.google_source(connection.external_id, grant, "UTC") if grant else None
        cancelled, released = linking.close_and_release(session, connection, grant, now)
        token = GoogleToken.from_json(grants.token_of(services.cipher, grant)) if grant and released else None
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


class _Linker:
    """This module's functions as a `linking.Linker` (mypy does not take modules for protocols)."""

    PROVIDER = PROVIDER
    LABEL = LABEL
    is_configured = staticmethod(is_configured)
    start_connect = staticmethod(start_connect)
    finish_connect = staticmethod(finish_connect)
    calendars_of_grant = staticmethod(calendars_of_grant)
    connect_calendars = staticmethod(connect_calendars)
    disconnect = staticmethod(disconnect)


LINKER: linking.Linker = _Linker()
