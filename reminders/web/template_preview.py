"""The template editor's preview: which appointment it is rendered for, and the preview's HTML.

The same partial (`templates/_preview.html`) is rendered into the page and into the JSON answer
the editor's script fetches, so the page shows exactly the same with and without JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reminders.appointments.upsert import STATUS_CONFIRMED
from reminders.dispatch.render import message_context
from reminders.messaging.formatting import normalize_language
from reminders.messaging.preview import Preview, preview_message, sample_context
from reminders.messaging.templates import MessageContext
from reminders.models import Appointment, CalendarConnection
from reminders.web import queries
from reminders.web.context import NotFound
from reminders.web.i18n import gettext_for
from reminders.web.rendering import TEMPLATES

PARTIAL = "templates/_preview.html"


@dataclass(frozen=True, slots=True)
class PreviewView:
    """A preview and what it was rendered for (`sample` when no real appointment was at hand)."""

    preview: Preview
    context: MessageContext
    calendar: CalendarConnection | None
    sample: bool


def preview_for(
    db: Session,
    account_id: int,
    *,
    body: str,
    language: str,
    calendar_id: int | None,
    now: datetime,
    ui_language: str = "en",
) -> PreviewView:
    """Render `body` for the next appointment of the account's calendar `calendar_id`.

    Without a calendar, or when it has no appointment coming up, a sample appointment is used.
    A calendar of another account raises `NotFound`, like one that does not exist.
    """
    account = queries.account(db, account_id)
    language = normalize_language(language)
    connection = None
    if calendar_id is not None:
        connection = queries.owned_calendar(db, account_id, calendar_id)
        if connection is None:
            raise NotFound
    appointment = next_appointment(db, connection.id, now) if connection is not None else None
    if connection is not None and appointment is not None:
        context = message_context(appointment, account, connection, language)
    else:
        zone = (connection.timezone if connection is not None else None) or account.timezone
        name = connection.name if connection is not None else None
        context = sample_context(language, now=now, timezone=zone, business=account.name, calendar=name)
    preview = preview_message(body, context, lambda text: gettext_for(ui_language, text))
    return PreviewView(preview, context, connection, sample=appointment is None)


def next_appointment(db: Session, calendar_id: int, now: datetime) -> Appointment | None:
    """The calendar's next confirmed, timed appointment."""
    return db.scalars(
        select(Appointment)
        .where(
            Appointment.calendar_id == calendar_id,
            Appointment.status == STATUS_CONFIRMED,
            Appointment.all_day.is_(False),
            Appointment.starts_at >= now,
        )
        .order_by(Appointment.starts_at, Appointment.id)
        .limit(1)
    ).first()


def preview_html(view: PreviewView, *, lang: str, zone: str) -> str:
    """The preview partial, as the editor page includes it."""
    return TEMPLATES.env.get_template(PARTIAL).render(view=view, lang=lang, zone=zone)


def preview_json(view: PreviewView, *, lang: str, zone: str) -> dict[str, Any]:
    """The answer to the editor's script: the numbers, and the partial to show."""
    return {
        **view.preview.as_json(),
        "sample": view.sample,
        "html": preview_html(view, lang=lang, zone=zone),
    }
