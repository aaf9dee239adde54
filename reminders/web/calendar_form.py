"""Reading the calendar settings form and the add-reminder forms: typed text in, values or msgids out.

Pure functions, so every rule of the form is testable without HTTP. Errors are msgids keyed by
the field they belong to; the page shows each next to its field with what was typed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import time
from typing import Final

from connectors.calendars.base import PHONE_FIELDS
from reminders.messaging.formatting import SUPPORTED_LANGUAGES
from reminders.messaging.sender import clean_sender_name, sender_name_problem
from reminders.models import CalendarConnection
from reminders.msgid import N_
from reminders.planning.quiet_hours import parse_clock

# The phone-field selects: "1st field", "2nd field", "3rd field".
PHONE_SLOTS: Final = ("phone_1", "phone_2", "phone_3")
RULE_UNITS: Final = {"minutes": "m", "hours": "h", "days": "d"}
# "day before at" rules: the same day, the day before, 2 or 3 days before.
RULE_DAYS: Final = (1, 2, 3, 0)
_AMOUNT: Final = re.compile(r"[0-9]{1,6}")


@dataclass(frozen=True, slots=True)
class CalendarSettings:
    """The settings of one calendar as the form says them."""

    enabled: bool
    phone_fields: list[str]
    quiet_start: time | None
    quiet_end: time | None
    allow_late_send: bool
    sender_name: str | None
    language: str | None
    # Language -> chosen template id (None: the built-in default text).
    templates: dict[str, int | None]


def template_field(language: str) -> str:
    """The form field of the template select for `language`."""
    return f"template_{language}"


def settings_form(connection: CalendarConnection, chosen: Mapping[str, int]) -> dict[str, str | bool]:
    """The form's values for the stored settings (`chosen`: language -> template id)."""
    form: dict[str, str | bool] = {
        "enabled": connection.enabled,
        "quiet_start": _clock(connection.quiet_start),
        "quiet_end": _clock(connection.quiet_end),
        "allow_late_send": connection.allow_late_send,
        "sender_name": connection.sender_name or "",
        "language": connection.language or "",
    }
    fields = list(connection.phone_fields)
    for index, slot in enumerate(PHONE_SLOTS):
        form[slot] = fields[index] if index < len(fields) else ""
    for language in SUPPORTED_LANGUAGES:
        found = chosen.get(language)
        form[template_field(language)] = str(found) if found is not None else ""
    return form


def read_settings(
    form: Mapping[str, str | bool], templates: Mapping[str, Set[int]]
) -> tuple[CalendarSettings | None, dict[str, str]]:
    """The settings the form says, or the errors by field.

    `templates` are the ids of the account's templates for each language: a select may only name
    one of those (anything else was not offered, e.g. a template deleted meanwhile).
    """
    errors: dict[str, str] = {}
    fields = _phone_fields(form, errors)
    quiet_start, quiet_end = _quiet_hours(form, errors)
    sender = clean_sender_name(_text(form, "sender_name"))
    if sender is not None and (problem := sender_name_problem(sender)):
        errors["sender_name"] = problem
    language = _text(form, "language") or None
    if language is not None and language not in SUPPORTED_LANGUAGES:
        errors["language"] = N_("Choose one of the listed languages.")
    chosen: dict[str, int | None] = {}
    for lang in SUPPORTED_LANGUAGES:
        typed = _text(form, template_field(lang))
        if not typed:
            chosen[lang] = None
        elif typed.isdigit() and int(typed) in templates.get(lang, ()):
            chosen[lang] = int(typed)
        else:
            errors[template_field(lang)] = N_("Choose one of the listed templates.")
    if errors:
        return None, errors
    return (
        CalendarSettings(
            enabled=bool(form.get("enabled")),
            phone_fields=fields,
            quiet_start=quiet_start,
            quiet_end=quiet_end,
            allow_late_send=bool(form.get("allow_late_send")),
            sender_name=sender,
            language=language,
            templates=chosen,
        ),
        errors,
    )


def read_rule(form: Mapping[str, str]) -> tuple[str | None, dict[str, str]]:
    """The rule of an add-reminder form as `ReminderRule.parse` reads it ("24h", "day-before@18:00")."""
    errors: dict[str, str] = {}
    if form.get("kind") == "day_before_at":
        at = parse_clock(form.get("rule_at", ""))
        if at is None:
            errors["rule_at"] = N_("Enter a time such as 18:00.")
        days = form.get("rule_days", "")
        if not days.isdigit() or int(days) not in RULE_DAYS:
            errors["rule_days"] = N_("Choose one of the listed days.")
        if errors or at is None:
            return None, errors
        when = {0: "same-day", 1: "day-before"}.get(int(days), f"{days}-days-before")
        return f"{when}@{at.strftime('%H:%M')}", errors
    amount = form.get("rule_amount", "").strip()
    if not _AMOUNT.fullmatch(amount) or int(amount) < 1:
        errors["rule_amount"] = N_("Enter a whole number, at least 1.")
    unit = form.get("rule_unit", "")
    if unit not in RULE_UNITS:
        errors["rule_unit"] = N_("Choose minutes, hours or days.")
    if errors:
        return None, errors
    return f"{int(amount)}{RULE_UNITS[unit]}", errors


def _phone_fields(form: Mapping[str, str | bool], errors: dict[str, str]) -> list[str]:
    fields: list[str] = []
    for slot in PHONE_SLOTS:
        name = _text(form, slot)
        if not name:
            continue  # an empty slot in the middle just moves the next one up
        if name not in PHONE_FIELDS:
            errors[slot] = N_("Choose one of the listed fields.")
        elif name in fields:
            errors[slot] = N_("This field is already chosen above.")
        else:
            fields.append(name)
    if not fields and not errors:
        errors[PHONE_SLOTS[0]] = N_("Choose at least one field the number is read from.")
    return fields


def _quiet_hours(form: Mapping[str, str | bool], errors: dict[str, str]) -> tuple[time | None, time | None]:
    typed = {name: _text(form, name) for name in ("quiet_start", "quiet_end")}
    if not any(typed.values()):
        return None, None  # the account's quiet hours
    parsed: dict[str, time | None] = {}
    for name, value in typed.items():
        parsed[name] = parse_clock(value) if value else None
        if not value:
            errors[name] = N_("Enter both times, or leave both empty to use the account's quiet hours.")
        elif parsed[name] is None:
            errors[name] = N_("Enter a time such as 21:00.")
    start, end = parsed["quiet_start"], parsed["quiet_end"]
    if start is not None and end is not None and start == end:
        # QuietHours reads equal ends as "no quiet hours": reminders must never wake clients.
        errors["quiet_end"] = N_("The quiet hours must end at another time than they start.")
    return start, end


def _text(form: Mapping[str, str | bool], name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _clock(value: time | None) -> str:
    return value.strftime("%H:%M") if value is not None else ""
