"""The final text of a reminder: template, appointment details, segments."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from reminders.appointments.phones import remove_phone_numbers
from reminders.messaging.segments import count_segments
from reminders.messaging.templates import DEFAULT_TEMPLATES, MessageContext, render
from reminders.models import Account, Appointment, CalendarConnection, CalendarTemplate, MessageTemplate


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A message ready to send and what it costs."""

    body: str
    encoding: str
    segments: int


def message_language(account: Account, connection: CalendarConnection) -> str:
    """The language a calendar's reminders are written in."""
    return connection.language or account.language


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


def render_reminder(
    appointment: Appointment,
    account: Account,
    connection: CalendarConnection,
    templates: Mapping[str, str],
) -> RenderedMessage:
    """Render the reminder text for an appointment, with its phone number removed from title and location."""
    language = message_language(account, connection)
    region = account.home_region
    context = MessageContext(
        starts_at=appointment.starts_at,
        timezone=appointment.timezone or connection.timezone or account.timezone,
        language=language,
        title=remove_phone_numbers(appointment.title, region),
        location=remove_phone_numbers(appointment.location, region),
        business=account.name,
        calendar=connection.name,
    )
    body = render(template_body(language, templates.get(language)), context)
    info = count_segments(body)
    return RenderedMessage(body=body, encoding=str(info.encoding), segments=max(info.segments, 1))
