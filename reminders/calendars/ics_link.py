"""Connecting an ICS feed by URL: only http(s), and by default never to this server's own network.

A tenant-supplied URL is fetched by the server, so without these checks it could read local files
(the connector accepts paths for the CLI and demo) or internal services (SSRF). The check here
tells the owner at once; every fetch checks again where it connects (`feed_http`).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.calendars.feed_http import AddressRefused, checked_addresses
from reminders.calendars.configure import add_rule
from reminders.calendars.linking import DEFAULT_RULES
from reminders.models import CalendarConnection
from reminders.msgid import N_


def feed_url_problem(url: str, *, allow_private: bool) -> str | None:
    """Why a feed URL is refused (an English msgid), or None. `webcal://` counts as https."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # not a number, or above 65535
        port = None
    if parts.scheme not in ("http", "https") or not parts.hostname or port is None:
        return N_("Enter the web address of the calendar feed, starting with https://.")
    if parts.username or parts.password:
        return N_("Remove the user name and password from the address; use a secret link instead.")
    if allow_private:
        return None
    # The same check guards every connection of every fetch; this one only answers early.
    try:
        checked_addresses(parts.hostname, port)
    except AddressRefused:
        return N_("This address points into a private network, which this server may not read.")
    except (OSError, UnicodeError):  # the name does not resolve, or cannot be encoded for DNS
        return N_("This address cannot be found. Check the host name.")
    return None


def normalise_feed_url(url: str) -> str:
    """Calendar apps hand out webcal:// links; they are https."""
    url = url.strip()
    return "https://" + url[len("webcal://") :] if url.lower().startswith("webcal://") else url


def connect_feed(
    session: Session, account_id: int, *, url: str, name: str, now: datetime
) -> CalendarConnection:
    """The connection for a feed URL: created with the default rules, or revived if it was disconnected."""
    connection = session.scalars(
        select(CalendarConnection).where(
            CalendarConnection.account_id == account_id,
            CalendarConnection.provider == "ics",
            CalendarConnection.external_id == url,
        )
    ).first()
    if connection is None:
        connection = CalendarConnection(
            account_id=account_id, provider="ics", external_id=url, name=name, created_at=now
        )
        session.add(connection)
        session.flush()
        for rule in DEFAULT_RULES:
            add_rule(session, connection.id, rule)
    connection.name = name or connection.name
    connection.disconnected_at, connection.enabled = None, True
    connection.next_sync_at, connection.sync_failures, connection.last_sync_error = None, 0, None
    return connection
