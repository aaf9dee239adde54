"""Google Calendar connector: OAuth (`oauth`), event parsing (`parse`) and the source (`client`)."""

from connectors.calendars.google.client import CalendarInfo, Channel, GoogleCalendarSource
from connectors.calendars.google.oauth import (
    CALENDAR_SCOPES,
    READ_SCOPES,
    GoogleClient,
    GoogleEndpoints,
    GoogleToken,
    OAuthFailed,
    authorization_request,
    exchange_code,
    revoke,
)
from connectors.calendars.google.parse import CancelledInstance, Removal, UnreadableEvent, parse_event

__all__ = [
    "CALENDAR_SCOPES",
    "READ_SCOPES",
    "CalendarInfo",
    "CancelledInstance",
    "Channel",
    "GoogleCalendarSource",
    "GoogleClient",
    "GoogleEndpoints",
    "GoogleToken",
    "OAuthFailed",
    "Removal",
    "UnreadableEvent",
    "authorization_request",
    "exchange_code",
    "parse_event",
    "revoke",
]
