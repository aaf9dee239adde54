"""The business settings form: reading what the owner typed, checking it, and storing it on the account.

Error messages are English msgids keyed by form field, like `accounts.service.FormErrors`.
The sender-name rule is the shared one of `messaging.sender`; only "empty" differs here, because
the account's sender is the default that an empty calendar sender falls back to.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from functools import cache
from zoneinfo import available_timezones

import phonenumbers

from reminders.accounts.service import FormErrors
from reminders.messaging.formatting import SUPPORTED_LANGUAGES
from reminders.messaging.sender import sender_name_problem as shared_sender_problem
from reminders.models import Account
from reminders.msgid import N_
from reminders.planning.quiet_hours import parse_clock

MAX_NAME = 200
_PREFIX = re.compile(r"\+\d{1,6}")


class SettingsRefused(FormErrors):
    """Input refused; `line` is the line of the language map that is wrong (1-based), if that is one."""

    def __init__(self, errors: Mapping[str, str], line: int | None = None) -> None:
        super().__init__(errors)
        self.line = line


@dataclass(frozen=True, slots=True)
class AccountSettings:
    """The business settings, checked."""

    name: str
    sender_name: str
    home_region: str
    timezone: str
    language: str
    quiet_start: time
    quiet_end: time
    language_by_prefix: dict[str, str]


def sender_name_problem(sender: str) -> str | None:
    """Why a name cannot be the account's sender, or None (the account's has no fallback: required)."""
    if not sender:
        return N_("Enter a sender name.")
    return shared_sender_problem(sender)


def typed_form(account: Account) -> dict[str, str]:
    """The account's settings as the form shows them."""
    return {
        "name": account.name,
        "sender_name": account.sender_name,
        "home_region": account.home_region,
        "timezone": account.timezone,
        "language": account.language,
        "quiet_start": account.quiet_start.strftime("%H:%M"),
        "quiet_end": account.quiet_end.strftime("%H:%M"),
        "language_by_prefix": format_language_map(account.language_by_prefix or {}),
    }


def read_form(form: Mapping[str, str]) -> AccountSettings:
    """The checked settings; `SettingsRefused` names every field that is wrong."""
    errors: dict[str, str] = {}
    name = form.get("name", "").strip()
    if not name:
        errors["name"] = N_("Enter the name of your business.")
    elif len(name) > MAX_NAME:
        errors["name"] = N_("Use at most 200 characters.")
    sender = form.get("sender_name", "").strip()
    if problem := sender_name_problem(sender):
        errors["sender_name"] = problem
    region = form.get("home_region", "").strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        errors["home_region"] = N_("Choose the country of your business.")
    zone = _zones().get(form.get("timezone", "").strip().lower(), "")
    if not zone:
        errors["timezone"] = N_("Enter a time zone such as Europe/Zurich.")
    language = form.get("language", "").strip()
    if language not in SUPPORTED_LANGUAGES:
        errors["language"] = N_("Choose German, French, Italian or English.")
    quiet = {key: parse_clock(form.get(key, "")) for key in ("quiet_start", "quiet_end")}
    for key, value in quiet.items():
        if value is None:
            errors[key] = N_("Enter a time such as 21:00.")
    line: int | None = None
    prefixes: dict[str, str] = {}
    try:
        prefixes = parse_language_map(form.get("language_by_prefix", ""))
    except _BadLine as exc:
        errors["language_by_prefix"], line = exc.msgid, exc.line
    if errors:
        raise SettingsRefused(errors, line)
    start, end = quiet["quiet_start"], quiet["quiet_end"]
    if start is None or end is None:  # refused above; this tells the type checker
        raise SettingsRefused(errors, line)
    return AccountSettings(name, sender, region, zone, language, start, end, prefixes)


def apply(account: Account, settings: AccountSettings) -> bool:
    """Store checked settings on the account; True when planned send times may change (zone, quiet hours)."""
    timing = (account.timezone, account.quiet_start, account.quiet_end)
    account.name = settings.name
    account.sender_name = settings.sender_name
    account.home_region = settings.home_region
    account.timezone = settings.timezone
    account.language = settings.language
    account.quiet_start = settings.quiet_start
    account.quiet_end = settings.quiet_end
    account.language_by_prefix = dict(settings.language_by_prefix)
    return timing != (settings.timezone, settings.quiet_start, settings.quiet_end)


class _BadLine(ValueError):
    def __init__(self, msgid: str, line: int) -> None:
        super().__init__(msgid)
        self.msgid, self.line = msgid, line


def parse_language_map(text: str) -> dict[str, str]:
    """Lines such as "+33 fr" (also "+33: fr", several per line with commas) as {"+33": "fr"}.

    Raises `_BadLine` with a msgid that has a `%(line)s` placeholder.
    """
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        for pair in re.split(r"[,;]", line):
            words = pair.replace(":", " ").replace("=", " ").split()
            if not words:
                continue
            if len(words) != 2:
                raise _BadLine(N_("Line %(line)s: write a country code and a language, e.g. +33 fr."), number)
            prefix, language = words[0], words[1].lower()
            if not _PREFIX.fullmatch(prefix):
                raise _BadLine(N_("Line %(line)s: a country code is + and digits, e.g. +33."), number)
            if not _is_country_code(prefix[1:]):
                raise _BadLine(N_("Line %(line)s: no country has this code."), number)
            if language not in SUPPORTED_LANGUAGES:
                raise _BadLine(N_("Line %(line)s: the language must be de, fr, it or en."), number)
            if prefix in found:
                raise _BadLine(N_("Line %(line)s: this country code is listed twice."), number)
            found[prefix] = language
    return found


def format_language_map(mapping: Mapping[str, str]) -> str:
    """The map as the form shows it, one "+33 fr" per line."""
    return "\n".join(f"{prefix} {language}" for prefix, language in sorted(mapping.items()))


def _is_country_code(digits: str) -> bool:
    # Longer prefixes ("+4191" for Ticino) must start with a real country calling code.
    return any(
        int(digits[:size]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE
        for size in range(1, min(3, len(digits)) + 1)
    )


@cache
def _zones() -> dict[str, str]:
    """IANA zone names by lower-cased name, so "europe/zurich" is understood."""
    return {zone.lower(): zone for zone in available_timezones()}


def zone_names() -> list[str]:
    """Every IANA zone name, sorted (for the form's suggestions)."""
    return sorted(_zones().values())
