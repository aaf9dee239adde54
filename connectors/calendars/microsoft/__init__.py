"""Outlook / Microsoft 365 connector: MSAL sign-in (`auth`), events (`parse`), the source (`client`)."""

from connectors.calendars.microsoft.auth import (
    SCOPES,
    MicrosoftApp,
    MicrosoftSession,
    OAuthFailed,
    TokenCacheState,
    access_token,
    finish_flow,
    start_flow,
)
from connectors.calendars.microsoft.client import CalendarInfo, MicrosoftCalendarSource, Subscription
from connectors.calendars.microsoft.parse import Cancellation, Removal, UnreadableEvent, parse_event

__all__ = [
    "SCOPES",
    "CalendarInfo",
    "Cancellation",
    "MicrosoftApp",
    "MicrosoftCalendarSource",
    "MicrosoftSession",
    "OAuthFailed",
    "Removal",
    "Subscription",
    "TokenCacheState",
    "UnreadableEvent",
    "access_token",
    "finish_flow",
    "parse_event",
    "start_flow",
]
