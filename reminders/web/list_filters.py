"""What the filtered lists (appointments, message log) share: the calendar filter and their links."""

from __future__ import annotations

from collections.abc import Mapping, Set
from urllib.parse import urlencode

from reminders.msgid import N_


def chosen_calendar(typed: str, calendar_ids: Set[int], errors: dict[str, str]) -> int | None:
    """The calendar a filter names, if it is one of the account's; else an error on the field."""
    if not typed:
        return None
    # Another account's calendar id is refused like a made-up one.
    if typed.isdigit() and int(typed) in calendar_ids:
        return int(typed)
    errors["calendar"] = N_("Choose one of your calendars.")
    return None


def list_link(path: str, form: Mapping[str, str], **changes: str) -> str:
    """`path` with the list's filters (and `changes`) as its query string; empty values left out."""
    params = {key: value for key, value in {**form, **changes}.items() if value}
    return path + (f"?{urlencode(params)}" if params else "")
