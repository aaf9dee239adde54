"""The final text of a reminder: template, appointment details, segments."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from reminders.appointments.phones import remove_phone_numbers
from reminders.messaging.language import (
    LanguageChoice,
    LanguageSource,
    calendar_default,
    calendar_language,
    choose_language,
    strip_tags,
)
from reminders.messaging.segments import count_segments
from reminders.messaging.templates import DEFAULT_TEMPLATES, MessageContext, render
from reminders.models import Account, Appointment, CalendarConnection, CalendarTemplate, MessageTemplate


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A message ready to send and what it costs."""

    body: str
    encoding: str
    segments: int


def language_choice(
    appointment: Appointment,
    account: Account,
    connection: CalendarConnection,
    template_languages: Collection[str],
) -> LanguageChoice:
    """The language of this appointment's reminder and why: tag, recipient's country, calendar, account.

    `template_languages` are the languages the calendar has a chosen template for: a calendar
    without a language of its own whose templates are all of one language speaks that language
    (see `calendar_language`). A choice that falls to the calendar or the account says which
    (`calendar_default`: set on the calendar, its templates, or the account's).
    """
    choice = choose_language(
        title=appointment.title,
        location=appointment.location,
        description=appointment.description,
        recipient=appointment.recipient,
        by_prefix=account.language_by_prefix or {},
        home_region=account.home_region,
        calendar_language=calendar_language(connection.language, template_languages),
        account_language=account.language,
    )
    if choice.source in (LanguageSource.TAG, LanguageSource.PREFIX):
        return choice
    return calendar_default(connection.language, template_languages, account.language)


def message_language(
    appointment: Appointment,
    account: Account,
    connection: CalendarConnection,
    template_languages: Collection[str],
) -> str:
    """The language of this appointment's reminder (see `language_choice`)."""
    return language_choice(appointment, account, connection, template_languages).language


def template_body(language: str, custom: str | None) -> str:
    """The calendar's own template, else the built-in default for its language."""
    return custom or DEFAULT_TEMPLATES.get(language) or DEFAULT_TEMPLATES["en"]


def calendar_templates(session: Session, calendar_ids: Collection[int]) -> dict[int, dict[str, str]]:
    """The saved template bodies of each calendar, by language."""
    if not calendar_ids:
        return {}
    rows = session.execute(
        select(CalendarTemplate.calendar_id, CalendarTemplate.language, MessageTemplate.body)
        .join(MessageTemplate, MessageTemplate.id == CalendarTemplate.template_id)
        .where(CalendarTemplate.calendar_id.in_(calendar_ids))
    )
    found: dict[int, dict[str, str]] = {}
    for calendar_id, language, body in rows:
        found.setdefault(calendar_id, {})[language] = body
    return found


def message_context(
    appointment: Appointment, account: Account, connection: CalendarConnection, language: str
) -> MessageContext:
    """What a template is rendered with for this appointment: phone numbers and language tags removed."""
    region = account.home_region
    return MessageContext(
        starts_at=appointment.starts_at,
        timezone=appointment.timezone or connection.timezone or account.timezone,
        language=language,
        title=strip_tags(remove_phone_numbers(appointment.title, region)),
        location=strip_tags(remove_phone_numbers(appointment.location, region)),
        business=account.name,
        calendar=connection.name,
    )


def render_reminder(
    appointment: Appointment,
    account: Account,
    connection: CalendarConnection,
    templates: Mapping[str, str],
) -> RenderedMessage:
    """Render the reminder text for an appointment in its language (see `message_language`).

    `templates` are the calendar's saved bodies by language; a language without one uses the
    built-in default of that language. Their languages also tell the calendar's language when it
    has none set (see `language_choice`).
    """
    language = message_language(appointment, account, connection, templates.keys())
    context = message_context(appointment, account, connection, language)
    body = render(template_body(language, templates.get(language)), context)
    info = count_segments(body)
    return RenderedMessage(body=body, encoding=str(info.encoding), segments=max(info.segments, 1))
