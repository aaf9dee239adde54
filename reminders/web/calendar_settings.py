"""A calendar's settings page: on/off, where the number is read, reminder rules, quiet hours, late
sends, sender name, language and the template of each language.

Everything that changes when reminders go out (rules, quiet hours, late sends) re-plans the
calendar's stored appointments in the same transaction, with the planner sync uses.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from reminders.calendars.configure import add_rule, use_template
from reminders.calendars.replan import replan_calendar
from reminders.messaging.formatting import SUPPORTED_LANGUAGES
from reminders.messaging.language import LanguageChoice, LanguageSource, calendar_default
from reminders.models import (
    CalendarConnection,
    CalendarTemplate,
    MessageTemplate,
    OAuthGrant,
    ReminderRuleRow,
)
from reminders.planning import ReminderRule
from reminders.planning.reconcile import rules_from_rows
from reminders.web import queries
from reminders.web.calendar_form import (
    PHONE_SLOTS,
    RULE_DAYS,
    CalendarSettings,
    read_rule,
    read_settings,
    settings_form,
    template_field,
)
from reminders.web.context import NotFound, Viewer, Web
from reminders.web.i18n import N_, gettext_for

# Written in their own language: whoever reads the list is looking for their clients' language.
LANGUAGE_NAMES: Mapping[str, str] = {"de": "Deutsch", "fr": "Français", "it": "Italiano", "en": "English"}
PROVIDERS: Mapping[str, str] = {"google": "Google", "microsoft": "Outlook", "ics": "ICS"}
PHONE_FIELD_LABELS: Mapping[str, str] = {
    "location": N_("Location"),
    "title": N_("Title"),
    "description": N_("Description"),
}
UNIT_LABELS: Mapping[str, str] = {"minutes": N_("minutes"), "hours": N_("hours"), "days": N_("days")}
DAY_LABELS: Mapping[int, str] = {
    0: N_("the same day"),
    1: N_("the day before"),
    2: N_("2 days before"),
    3: N_("3 days before"),
}


@dataclass(frozen=True, slots=True)
class RuleLine:
    """A reminder rule as the page lists it."""

    id: int
    text: str


async def form_fields(request: Request) -> dict[str, str]:
    """FastAPI dependency: the posted form's text fields (the CSRF guard has already read it)."""
    return {key: value for key, value in (await request.form()).items() if isinstance(value, str)}


def calendar_settings_router(web: Web) -> APIRouter:
    """The settings page of one calendar and its reminder rules."""
    router = APIRouter()
    services = web.services
    signed = Depends(web.viewer)
    posted = Depends(form_fields)

    def show(
        request: Request,
        viewer: Viewer,
        connection_id: int,
        *,
        form: Mapping[str, str | bool] | None = None,
        errors: Mapping[str, str] | None = None,
        rule_form: Mapping[str, str] | None = None,
        rule_errors: Mapping[str, str] | None = None,
        status_code: int = 200,
    ) -> Response:
        lang = web.language_of(request, viewer)
        with services.reader() as db:
            connection = owned_connected(db, viewer.account_id, connection_id)
            account = queries.account(db, viewer.account_id)
            with_templates = chosen(db, connection.id).keys()
            context: dict[str, Any] = {
                "calendar": connection,
                "account": account,
                "access_revoked": access_revoked(db, connection),
                "rules": [RuleLine(r.id, r.describe(lang)) for r in active_rules(db, connection.id)],
                "choices": template_choices(db, viewer.account_id),
                "form": form if form is not None else settings_form(connection, chosen(db, connection.id)),
                "errors": errors or {},
                "rule_form": rule_form or {"rule_unit": "hours", "rule_days": "1"},
                "rule_errors": rule_errors or {},
                "provider": PROVIDERS.get(connection.provider, connection.provider),
                "phone_slots": PHONE_SLOTS,
                "template_field": template_field,
                "language_names": LANGUAGE_NAMES,
                # In which language the reminders go out unless a tag or the number decides (saved state).
                "default_language": calendar_default(connection.language, with_templates, account.language),
                **options(lang, calendar_default(None, with_templates, account.language)),
            }
        return web.page(request, "calendars/settings.html", context, viewer=viewer, status_code=status_code)

    def horizon() -> timedelta:
        return timedelta(days=services.settings.planning_horizon_days)

    @router.get("/calendars/{connection_id}")
    def settings_page(request: Request, connection_id: int, viewer: Annotated[Viewer, signed]) -> Response:
        return show(request, viewer, connection_id)

    @router.post("/calendars/{connection_id}")
    def save_settings(
        request: Request,
        connection_id: int,
        viewer: Annotated[Viewer, signed],
        form: Annotated[dict[str, str], posted],
    ) -> Response:
        now = services.clock()
        with services.factory.begin() as db:
            connection = owned_connected(db, viewer.account_id, connection_id)
            settings, errors = read_settings(form, template_ids(db, viewer.account_id))
            if settings is not None:
                reread = apply_settings(db, connection, settings)
                if reread:
                    # Numbers are read during a sync: start the next one from scratch, and soon.
                    connection.cursor, connection.next_sync_at = None, now
                # Quiet hours and late sends decide send times: cheap to re-plan whatever changed.
                replan_calendar(db, connection.id, now=now, within=horizon())
        if settings is None:
            return show(request, viewer, connection_id, form=form, errors=errors, status_code=422)
        if reread and services.wake_sync is not None:
            services.wake_sync(now)
        return RedirectResponse(f"/calendars/{connection_id}?notice=saved", status_code=303)

    @router.post("/calendars/{connection_id}/removals")
    def confirm_removals(request: Request, connection_id: int, viewer: Annotated[Viewer, signed]) -> Response:
        """The owner says the appointments missing from a held snapshot really are gone."""
        now = services.clock()
        with services.factory.begin() as db:
            connection = owned_connected(db, viewer.account_id, connection_id)
            if connection.held_removals:
                connection.held_confirmed_at, connection.next_sync_at = now, now
        if services.wake_sync is not None:
            services.wake_sync(now)
        return RedirectResponse(f"/calendars/{connection_id}?notice=removals_confirmed", status_code=303)

    @router.post("/calendars/{connection_id}/rules")
    def add_reminder_rule(
        request: Request,
        connection_id: int,
        viewer: Annotated[Viewer, signed],
        form: Annotated[dict[str, str], posted],
    ) -> Response:
        text, errors = read_rule(form)
        field = "rule_at" if form.get("kind") == "day_before_at" else "rule_amount"
        with services.factory.begin() as db:
            connection = owned_connected(db, viewer.account_id, connection_id)
            if text is not None:
                problem = rule_problem(text, active_rules(db, connection.id))
                if problem is not None:
                    errors[field] = problem
                else:
                    add_rule(db, connection.id, text)
                    replan_calendar(db, connection.id, now=services.clock(), within=horizon())
        if errors:
            return show(request, viewer, connection_id, rule_form=form, rule_errors=errors, status_code=422)
        return RedirectResponse(f"/calendars/{connection_id}?notice=added#rules", status_code=303)

    @router.get("/calendars/{connection_id}/rules/{rule_id}/remove")
    def confirm_remove_rule(
        request: Request, connection_id: int, rule_id: int, viewer: Annotated[Viewer, signed]
    ) -> Response:
        with services.reader() as db:
            connection = owned_connected(db, viewer.account_id, connection_id)
            rule = rules_from_rows([owned_rule(db, connection, rule_id)])[0]
            context = {"calendar": connection, "rule": RuleLine(rule_id, rule.describe(viewer.language))}
        return web.page(request, "calendars/remove_rule.html", context, viewer=viewer)

    @router.post("/calendars/{connection_id}/rules/{rule_id}/remove")
    def remove_rule(
        request: Request, connection_id: int, rule_id: int, viewer: Annotated[Viewer, signed]
    ) -> Response:
        with services.factory.begin() as db:
            connection = owned_connected(db, viewer.account_id, connection_id)
            row = owned_rule(db, connection, rule_id)
            # Kept inactive rather than deleted: reminders it already sent still name their rule.
            row.active = False
            db.flush()
            replan_calendar(db, connection.id, now=services.clock(), within=horizon())
        return RedirectResponse(f"/calendars/{connection_id}?notice=removed#rules", status_code=303)

    return router


def options(lang: str, unset: LanguageChoice) -> dict[str, list[tuple[str, str]]]:
    """The translated options of the page's selects (`unset`: the language without one set)."""

    def t(msgid: str) -> str:
        return gettext_for(lang, msgid)

    own = LANGUAGE_NAMES.get(unset.language, unset.language)
    if unset.source is LanguageSource.TEMPLATE:
        automatic = t(N_("As its templates (%(language)s)")) % {"language": own}
    else:
        automatic = t(N_("Same as the account (%(language)s)")) % {"language": own}
    return {
        "field_options": [("", "–"), *((key, t(label)) for key, label in PHONE_FIELD_LABELS.items())],
        "language_options": [
            ("", automatic),
            *LANGUAGE_NAMES.items(),
        ],
        "unit_options": [(key, t(label)) for key, label in UNIT_LABELS.items()],
        "day_options": [(str(days), t(DAY_LABELS[days])) for days in RULE_DAYS],
    }


def owned_connected(db: Session, account_id: int, connection_id: int) -> CalendarConnection:
    """The viewer's connected calendar with this id, else `NotFound`."""
    connection = queries.owned_calendar(db, account_id, connection_id)
    if connection is None or connection.disconnected_at is not None:
        raise NotFound
    return connection


def owned_rule(db: Session, connection: CalendarConnection, rule_id: int) -> ReminderRuleRow:
    """The calendar's active rule with this id, else `NotFound`."""
    row = db.get(ReminderRuleRow, rule_id)
    if row is None or row.calendar_id != connection.id or not row.active:
        raise NotFound
    return row


def active_rules(db: Session, calendar_id: int) -> list[ReminderRule]:
    """The calendar's active rules, oldest first."""
    rows = db.scalars(
        select(ReminderRuleRow).where(ReminderRuleRow.calendar_id == calendar_id).order_by(ReminderRuleRow.id)
    )
    return rules_from_rows(rows)


def rule_problem(text: str, existing: Sequence[ReminderRule]) -> str | None:
    """Why the rule cannot be added (a msgid), or None."""
    try:
        rule = ReminderRule.parse(text)
    except ValueError:
        # The form only sends rules the parser reads, so this is the 365-day limit.
        return N_("A reminder can be at most 365 days before the appointment.")
    if any(replace(other, id=rule.id) == rule for other in existing):
        return N_("This calendar already has this reminder.")
    return None


def access_revoked(db: Session, connection: CalendarConnection) -> bool:
    """Whether the calendar's OAuth access was withdrawn."""
    grant = db.get(OAuthGrant, connection.grant_id) if connection.grant_id is not None else None
    return grant is not None and grant.revoked_at is not None


def template_choices(db: Session, account_id: int) -> dict[str, list[tuple[str, str]]]:
    """The account's templates by language, as (id, name) options."""
    found: dict[str, list[tuple[str, str]]] = {language: [] for language in SUPPORTED_LANGUAGES}
    rows = db.execute(
        select(MessageTemplate.id, MessageTemplate.name, MessageTemplate.language)
        .where(MessageTemplate.account_id == account_id)
        .order_by(MessageTemplate.name, MessageTemplate.id)
    )
    for template_id, name, language in rows:
        found.setdefault(language, []).append((str(template_id), name))
    return found


def template_ids(db: Session, account_id: int) -> dict[str, set[int]]:
    """The ids of the account's templates by language."""
    return {
        language: {int(template_id) for template_id, _ in options}
        for language, options in template_choices(db, account_id).items()
    }


def chosen(db: Session, calendar_id: int) -> dict[str, int]:
    """The calendar's template id for each language it has one for."""
    rows = db.execute(
        select(CalendarTemplate.language, CalendarTemplate.template_id).where(
            CalendarTemplate.calendar_id == calendar_id
        )
    )
    return {language: template_id for language, template_id in rows}


def apply_settings(db: Session, connection: CalendarConnection, settings: CalendarSettings) -> bool:
    """Store the settings; True when the phone fields changed (numbers must be read again)."""
    reread = list(connection.phone_fields) != settings.phone_fields
    connection.enabled = settings.enabled
    connection.phone_fields = settings.phone_fields
    connection.quiet_start, connection.quiet_end = settings.quiet_start, settings.quiet_end
    connection.allow_late_send = settings.allow_late_send
    connection.sender_name = settings.sender_name
    connection.language = settings.language
    for language, template_id in settings.templates.items():
        if template_id is None:
            db.execute(
                delete(CalendarTemplate).where(
                    CalendarTemplate.calendar_id == connection.id, CalendarTemplate.language == language
                )
            )
        else:
            use_template(db, connection.id, db.get_one(MessageTemplate, template_id))
    db.flush()
    return reread
