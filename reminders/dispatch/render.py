"""The final text of a reminder: template, appointment details, segments."""

from __future__ import annotations

from dataclasses import dataclass

from reminders.appointments.phones import remove_phone_numbers
from reminders.messaging.segments import count_segments
from reminders.messaging.templates import DEFAULT_TEMPLATES, MessageContext, render
from reminders.models import Account, Appointment, CalendarConnection


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


def render_reminder(
    appointment: Appointment, account: Account, connection: CalendarConnection, custom_template: str | None
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
    body = render(template_body(language, custom_template), context)
    info = count_segments(body)
    return RenderedMessage(body=body, encoding=str(info.encoding), segments=max(info.segments, 1))
