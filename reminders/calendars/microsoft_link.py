"""Connecting Outlook / Microsoft 365 calendars: consent, picking, change notifications, disconnecting."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from connectors.calendars.base import CalendarError
from connectors.calendars.microsoft import MicrosoftCalendarSource, finish_flow, start_flow
from reminders.bootstrap import Services
from reminders.calendars import grants, linking
from reminders.calendars.linking import ConnectError, PickerEntry
from reminders.models import CalendarConnection, OAuthGrant
from reminders.settings import Settings

log = logging.getLogger(__name__)

PROVIDER = "microsoft"
LABEL = "Microsoft"
RENEW_BEFORE = timedelta(hours=2)

__all__ = ["ConnectError"]


def is_configured(settings: Settings) -> bool:
    """Whether this installation has a Microsoft OAuth client."""
    return bool(settings.microsoft_client_id)


def start_connect(services: Services, *, account_id: int, session_id: str) -> str:
    """The URL of Microsoft's sign-in page for this account, with a state bound to the browser session."""
    nonce, state = linking.new_nonce_state(services)
    url, flow = start_flow(services.microsoft_app, state=state)
    with services.factory.begin() as session:
        linking.store_flow(services, session, nonce=nonce, account_id=account_id, provider=PROVIDER,
                           session_id=session_id, secret=json.dumps(flow))  # fmt: skip
    return url


def finish_connect(services: Services, *, state: str, query: Mapping[str, str], session_id: str) -> int:
    """Redeem the code from Microsoft's redirect and keep the token cache; returns the grant id."""
    account_id, flow = linking.consume_flow(
        services, state=state, session_id=session_id, provider=PROVIDER, label=LABEL
    )
    cache = finish_flow(services.microsoft_app, json.loads(flow), query)
    with services.factory.begin() as session:
        grant = grants.store_grant(
            session,
            services.cipher,
            account_id=account_id,
            provider=PROVIDER,
            subject=cache.username,
            token_json=cache.to_json(),
            scopes="Calendars.Read User.Read",
            now=services.clock(),
        )
        return grant.id


def calendars_of_grant(services: Services, *, account_id: int, grant_id: int) -> list[PickerEntry]:
    """The Outlook calendars a grant can read (for the picker)."""
    with services.factory.begin() as session:
        source = services.microsoft_source("", linking.usable_grant(session, account_id, grant_id), "UTC")
    return [PickerEntry(c.id, c.name, c.is_default, None) for c in source.list_calendars()]


def connect_calendars(
    services: Services, *, account_id: int, grant_id: int, calendar_ids: Sequence[str]
) -> list[int]:
    """Connect the chosen calendars, sync them and subscribe to their changes; returns their ids."""
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
                timezone=None,  # Graph's calendar list has no zone; the account's applies
                grant_id=grant_id,
            ).id
            for calendar_id in calendar_ids
        ]
    from reminders.calendars.service import sync_one  # the sync service imports the connectors' wiring

    for connection_id in connected:
        sync_one(services, connection_id)
        ensure_subscription(services, connection_id)
    return connected


def _source_for(
    services: Services, connection_id: int
) -> tuple[MicrosoftCalendarSource, CalendarConnection] | None:
    with services.factory.begin() as session:
        connection = session.get_one(CalendarConnection, connection_id)
        grant = session.get(OAuthGrant, connection.grant_id) if connection.grant_id else None
        if grant is None or grant.revoked_at is not None or connection.disconnected_at is not None:
            return None
        return services.microsoft_source(
            connection.external_id, grant, connection.timezone or "UTC"
        ), connection


def ensure_subscription(services: Services, connection_id: int) -> bool:
    """Subscribe to the calendar's changes (replacing an old subscription); polling stays the safety net."""
    found = _source_for(services, connection_id)
    if found is None:
        return False
    source, connection = found
    base = services.settings.public_url.rstrip("/")
    client_state = secrets.token_urlsafe(32)
    expires = services.clock() + timedelta(minutes=services.settings.microsoft_subscription_minutes)
    try:
        subscription = source.subscribe(
            notification_url=f"{base}/webhooks/microsoft",
            lifecycle_url=f"{base}/webhooks/microsoft/lifecycle",
            client_state=client_state,
            expires=expires,
        )
    except CalendarError as exc:
        log.warning("microsoft.subscribe.failed calendar=%s error=%s", connection_id, exc)
        return False
    with services.factory.begin() as session:
        row = session.get_one(CalendarConnection, connection_id)
        row.push_channel_id, row.push_token, row.push_expires_at = (
            subscription.id,
            client_state,
            subscription.expires,
        )
    if connection.push_channel_id and connection.push_channel_id != subscription.id:
        _unsubscribe_quietly(source, connection.push_channel_id)
    log.info("microsoft.subscription.started calendar=%s expires=%s", connection_id, subscription.expires)
    return True


def renew_subscription(services: Services, connection_id: int) -> bool:
    """Extend a subscription; if Graph no longer knows it, create a new one."""
    found = _source_for(services, connection_id)
    if found is None or not found[1].push_channel_id:
        return ensure_subscription(services, connection_id)
    source, connection = found
    expires = services.clock() + timedelta(minutes=services.settings.microsoft_subscription_minutes)
    try:
        subscription = source.renew(connection.push_channel_id or "", expires)
    except CalendarError as exc:
        log.info("microsoft.subscription.renew_failed calendar=%s error=%s", connection_id, exc)
        return ensure_subscription(services, connection_id)
    with services.factory.begin() as session:
        session.get_one(CalendarConnection, connection_id).push_expires_at = subscription.expires
    return True


def renew_subscriptions(services: Services) -> int:
    """Renew subscriptions that expire soon; returns how many were renewed."""
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
    return sum(renew_subscription(services, connection_id) for connection_id in ids)


def handle_notifications(services: Services, payload: Any) -> bool:
    """Change notifications: each verified by its clientState, then a (debounced) sync of its calendar."""
    accepted = False
    items = payload.get("value") if isinstance(payload, dict) else None
    with services.factory.begin() as session:
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            connection = linking.connection_by_channel(session, str(item.get("subscriptionId", "")))
            if connection is None or not linking.push_secret_matches(
                connection, str(item.get("clientState", ""))
            ):
                log.warning(
                    "microsoft.notification.rejected subscription=%s", str(item.get("subscriptionId"))[:64]
                )
                continue
            linking.sync_soon(connection, services.clock())
            accepted = True
    return accepted


def handle_lifecycle(services: Services, payload: Any) -> None:
    """Lifecycle events: renew (reauthorizationRequired), resubscribe (subscriptionRemoved), sync (missed)."""
    items = payload.get("value") if isinstance(payload, dict) else None
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        with services.factory.begin() as session:
            connection = linking.connection_by_channel(session, str(item.get("subscriptionId", "")))
            if connection is None or not linking.push_secret_matches(
                connection, str(item.get("clientState", ""))
            ):
                continue
            linking.sync_soon(connection, services.clock())  # whatever happened, catch up
            connection_id, event = connection.id, str(item.get("lifecycleEvent", ""))
        if event == "reauthorizationRequired":
            renew_subscription(services, connection_id)
        elif event == "subscriptionRemoved":
            ensure_subscription(services, connection_id)


def disconnect(services: Services, *, account_id: int, connection_id: int) -> int:
    """Delete the subscription, forget the token cache unless another calendar uses it, cancel reminders."""
    now = services.clock()
    with services.factory.begin() as session:
        connection, grant = linking.owned_connection(session, account_id, connection_id)
        subscription = connection.push_channel_id
        source = services.microsoft_source(connection.external_id, grant, "UTC") if grant else None
        cancelled, released = linking.close_and_release(session, connection, grant, now)
        if grant is not None and released:
            grant.token = services.cipher.encrypt("{}")  # the cache is deleted: nothing can refresh it
    if source is not None and subscription:
        _unsubscribe_quietly(source, subscription)
    return cancelled


def _unsubscribe_quietly(source: MicrosoftCalendarSource, subscription_id: str) -> None:
    try:
        source.unsubscribe(subscription_id)
    except CalendarError as exc:  # an expired or removed subscription is gone already
        log.info("microsoft.unsubscribe.failed subscription=%s error=%s", subscription_id, exc)


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
