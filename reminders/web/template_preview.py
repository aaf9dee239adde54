"""The template editor's preview: which appointment it is rendered for, and the preview's HTML.

The same partial (`templates/_preview.html`) is rendered into the page and into the JSON answer
the editor's script fetches, so the page shows exactly the same with and without JavaScript.

With a calendar, the preview also says in which language that calendar's reminder goes out (for
its next appointment, or by default), decided by the same function dispatch uses
(`dispatch.render.language_choice`), so a template of another language is never shown as if it
would be sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reminders.appointments.upsert import STATUS_CONFIRMED
from reminders.dispatch.render import calendar_templates, language_choice, message_context
from reminders.messaging.formatting import normalize_language
from reminders.messaging.language import LanguageChoice, calendar_default
from reminders.messaging.preview import Preview, preview_message, sample_context
from reminders.messaging.templates import MessageContext
from reminders.models import Appointment, CalendarConnection
from reminders.web import queries
from reminders.web.calendar_settings import LANGUAGE_NAMES
from reminders.web.context import NotFound
from reminders.web.i18n import gettext_for
from reminders.web.rendering import TEMPLATES

PARTIAL = "templates/_preview.html"


@dataclass(frozen=True, slots=True)
class PreviewView:
    """A preview and what it was rendered for (`sample` when no real appointment was at hand).

    `goes_out` is the language the calendar's reminder goes out in and why: for the appointment
    shown, or the calendar's default for a sample; None without a calendar.
    """

    preview: Preview
    context: MessageContext
    calendar: CalendarConnection | None
    sample: bool
    goes_out: LanguageChoice | None = None
    credit_left: int | None = None

    @property
    def over_credit(self) -> bool:
        """Whether one reminder with this text costs more SMS credit than the account has left."""
        return self.credit_left is not None and self.preview.credits > self.credit_left

    @property
    def other_language(self) -> bool:
        """Whether the calendar's reminder goes out in another language than the template's."""
        return self.goes_out is not None and self.goes_out.language != self.context.language


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
    goes_out: LanguageChoice | None = None
    if connection is not None:
        chosen = calendar_templates(db, [connection.id]).get(connection.id, {}).keys()
        if appointment is not None:
            goes_out = language_choice(appointment, account, connection, chosen)
        else:
            goes_out = calendar_default(connection.language, chosen, account.language)
    if connection is not None and appointment is not None:
        context = message_context(appointment, account, connection, language)
    else:
        zone = (connection.timezone if connection is not None else None) or account.timezone
        name = connection.name if connection is not None else None
        context = sample_context(language, now=now, timezone=zone, business=account.name, calendar=name)
    preview = preview_message(body, context, lambda text: gettext_for(ui_language, text))
    return PreviewView(
        preview,
        context,
        connection,
        sample=appointment is None,
        goes_out=goes_out,
        credit_left=account.credit_balance,
    )


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


def preview_html(view: PreviewView, *, lang: str, zone: str, region: str | None = None) -> str:
    """The preview partial, as the editor page includes it (`region`: the account's country, for dates)."""
    return TEMPLATES.env.get_template(PARTIAL).render(
        view=view, lang=lang, zone=zone, region=region, language_names=LANGUAGE_NAMES
    )


def preview_json(view: PreviewView, *, lang: str, zone: str, region: str | None = None) -> dict[str, Any]:
    """The answer to the editor's script: the numbers, and the partial to show."""
    return {
        **view.preview.as_json(),
        "sample": view.sample,
        "goes_out": view.goes_out.language if view.goes_out is not None else None,
        "html": preview_html(view, lang=lang, zone=zone, region=region),
    }
