"""The template library: the account's saved reminder texts, the editor with its live preview, delete.

A template is written for one language; each calendar picks one template per language on its
settings page (`calendar_template`). The preview renders the text for the next appointment of a
chosen calendar and says what it costs. Where a template is listed as used by a calendar, the
page says for which language, and in which language that calendar writes by default: a template
of another language is sent only to the appointments that a tag or the number gives its language.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse
from markupsafe import Markup
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from reminders.calendars.configure import save_template
from reminders.dispatch.render import calendar_templates
from reminders.messaging.formatting import SUPPORTED_LANGUAGES
from reminders.messaging.language import calendar_default, calendar_language
from reminders.messaging.templates import DEFAULT_TEMPLATES, PLACEHOLDERS, TemplateError
from reminders.models import CalendarConnection, CalendarTemplate, MessageTemplate
from reminders.web import queries
from reminders.web.calendar_settings import LANGUAGE_NAMES, form_fields
from reminders.web.context import NotFound, Viewer, Web
from reminders.web.i18n import N_, gettext_for
from reminders.web.template_preview import preview_for, preview_html, preview_json

MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class Use:
    """A calendar that uses a template for one language, and the language it writes in by default."""

    calendar_id: int
    calendar: str
    language: str
    default_language: str

    @property
    def by_default(self) -> bool:
        """Whether the calendar writes this template's language unless a tag or the number says otherwise."""
        return self.language == self.default_language


@dataclass(frozen=True, slots=True)
class TemplateLine:
    """A saved template with the calendars that use it."""

    template: MessageTemplate
    uses: list[Use]


class PreviewRequest(BaseModel):
    """What the editor's script sends while the user types."""

    body: str = Field(max_length=20_000)
    language: str = Field(default="de", max_length=16)
    calendar_id: int | None = None


def template_router(web: Web) -> APIRouter:
    """The routes of the template library."""
    router = APIRouter()
    services = web.services
    signed = Depends(web.viewer)
    posted = Depends(form_fields)

    def editor(
        request: Request,
        viewer: Viewer,
        *,
        template_id: int | None,
        form: Mapping[str, str],
        errors: Mapping[str, str] | None = None,
        body_error: str | None = None,
        status_code: int = 200,
    ) -> Response:
        lang = web.language_of(request, viewer)
        with services.reader() as db:
            calendars = queries.calendars(db, viewer.account_id, connected_only=True)
            uses = uses_of(db, viewer.account_id, [template_id]).get(template_id, []) if template_id else []
            calendar_id = _calendar_choice(form.get("calendar", ""), calendars, [u.calendar_id for u in uses])
            view = preview_for(
                db,
                viewer.account_id,
                body=form.get("body", ""),
                language=form.get("language", ""),
                calendar_id=calendar_id,
                now=services.clock(),
                ui_language=viewer.language,
            )
        context: dict[str, Any] = {
            "template_id": template_id,
            "form": {**form, "calendar": str(calendar_id or "")},
            "errors": errors or {},
            "body_error": body_error,
            "calendar_options": [(str(c.id), c.name) for c in calendars],
            "language_options": list(LANGUAGE_NAMES.items()),
            "placeholders": PLACEHOLDERS,
            "uses": uses,
            # Rendered by our own escaping partial, so it is safe to insert as HTML.
            "preview": Markup(preview_html(view, lang=lang, zone=viewer.timezone, region=viewer.home_region)),
            "language_names": LANGUAGE_NAMES,
        }
        return web.page(request, "templates/edit.html", context, viewer=viewer, status_code=status_code)

    def save(request: Request, viewer: Viewer, template_id: int | None, form: Mapping[str, str]) -> Response:
        if form.get("action") == "preview":  # the no-JavaScript way to refresh the preview
            return editor(request, viewer, template_id=template_id, form=form)
        name, language, body = form.get("name", "").strip(), form.get("language", ""), form.get("body", "")
        errors: dict[str, str] = {}
        if not name:
            errors["name"] = N_("Give the template a name.")
        elif len(name) > MAX_NAME:
            errors["name"] = N_("Use at most 200 characters.")
        if language not in SUPPORTED_LANGUAGES:
            errors["language"] = N_("Choose one of the listed languages.")
        body_error: str | None = None
        over_credit = False
        with services.factory.begin() as db:
            if template_id is not None:
                template = owned_template(db, viewer.account_id, template_id)
                in_use = uses_of(db, viewer.account_id, [template_id]).get(template_id, [])
                if in_use and language != template.language and "language" not in errors:
                    errors["language"] = N_(
                        "Calendars use this template for its language. Choose other templates for "
                        "them first, or save a copy in the other language as a new template."
                    )
            if not errors:
                try:
                    saved = save_template(
                        db,
                        viewer.account_id,
                        name=name,
                        language=language,
                        body=body,
                        now=services.clock(),
                        template_id=template_id,
                    )
                    template_id = saved.id
                    # Saved either way; the owner is told at once when it cannot be paid for.
                    over_credit = preview_for(
                        db,
                        viewer.account_id,
                        body=body,
                        language=language,
                        calendar_id=None,
                        now=services.clock(),
                    ).over_credit
                except TemplateError as exc:
                    # It names the placeholder and the character position.
                    body_error = exc.translated(lambda text: gettext_for(viewer.language, text))
        if errors or body_error:
            return editor(
                request,
                viewer,
                template_id=template_id,
                form=form,
                errors=errors,
                body_error=body_error,
                status_code=422,
            )
        notice = "saved_over_credit" if over_credit else "saved"
        return RedirectResponse(f"/templates/{template_id}?notice={notice}", status_code=303)

    @router.get("/templates")
    def template_list(request: Request, viewer: Annotated[Viewer, signed]) -> Response:
        with services.reader() as db:
            templates = db.scalars(
                select(MessageTemplate)
                .where(MessageTemplate.account_id == viewer.account_id)
                .order_by(MessageTemplate.name, MessageTemplate.id)
            ).all()
            uses = uses_of(db, viewer.account_id, [t.id for t in templates])
        context = {
            "lines": [TemplateLine(t, uses.get(t.id, [])) for t in templates],
            "language_names": LANGUAGE_NAMES,
            "defaults": DEFAULT_TEMPLATES,
        }
        return web.page(request, "templates/list.html", context, viewer=viewer)

    @router.get("/templates/new")
    def new_template(request: Request, viewer: Annotated[Viewer, signed], language: str = "") -> Response:
        with services.reader() as db:
            account_language = queries.account(db, viewer.account_id).language
        chosen = language if language in SUPPORTED_LANGUAGES else account_language
        chosen = chosen if chosen in SUPPORTED_LANGUAGES else "en"
        form = {"name": "", "language": chosen, "body": DEFAULT_TEMPLATES[chosen]}
        return editor(request, viewer, template_id=None, form=form)

    @router.post("/templates/new")
    def create_template(
        request: Request, viewer: Annotated[Viewer, signed], form: Annotated[dict[str, str], posted]
    ) -> Response:
        return save(request, viewer, None, form)

    @router.post("/templates/preview")
    def preview(request: Request, viewer: Annotated[Viewer, signed], payload: PreviewRequest) -> JSONResponse:
        with services.reader() as db:
            view = preview_for(
                db,
                viewer.account_id,
                body=payload.body,
                language=payload.language,
                calendar_id=payload.calendar_id,
                now=services.clock(),
                ui_language=viewer.language,
            )
        lang = web.language_of(request, viewer)
        return JSONResponse(preview_json(view, lang=lang, zone=viewer.timezone, region=viewer.home_region))

    @router.get("/templates/{template_id}")
    def edit_template(request: Request, template_id: int, viewer: Annotated[Viewer, signed]) -> Response:
        with services.reader() as db:
            template = owned_template(db, viewer.account_id, template_id)
            form = {"name": template.name, "language": template.language, "body": template.body}
        return editor(request, viewer, template_id=template_id, form=form)

    @router.post("/templates/{template_id}")
    def update_template(
        request: Request,
        template_id: int,
        viewer: Annotated[Viewer, signed],
        form: Annotated[dict[str, str], posted],
    ) -> Response:
        return save(request, viewer, template_id, form)

    @router.get("/templates/{template_id}/delete")
    def confirm_delete(request: Request, template_id: int, viewer: Annotated[Viewer, signed]) -> Response:
        with services.reader() as db:
            template = owned_template(db, viewer.account_id, template_id)
            uses = uses_of(db, viewer.account_id, [template_id]).get(template_id, [])
            context = {"template": template, "uses": uses, "language_names": LANGUAGE_NAMES}
        return web.page(request, "templates/delete.html", context, viewer=viewer)

    @router.post("/templates/{template_id}/delete")
    def delete_template(request: Request, template_id: int, viewer: Annotated[Viewer, signed]) -> Response:
        with services.factory.begin() as db:
            template = owned_template(db, viewer.account_id, template_id)
            keep_calendar_languages(db, viewer.account_id, template)
            # The calendars' rows for it go with it (ON DELETE CASCADE): they use the built-in text.
            db.delete(template)
        return RedirectResponse("/templates?notice=deleted", status_code=303)

    return router


def owned_template(db: Session, account_id: int, template_id: int) -> MessageTemplate:
    """The account's template with this id, else `NotFound` (also for another account's id)."""
    found = db.get(MessageTemplate, template_id)
    if found is None or found.account_id != account_id:
        raise NotFound
    return found


def uses_of(db: Session, account_id: int, template_ids: Sequence[int]) -> dict[int, list[Use]]:
    """The connected calendars of the account that use each template, by template id."""
    if not template_ids:
        return {}
    rows = db.execute(
        select(
            CalendarTemplate.template_id,
            CalendarConnection.id,
            CalendarConnection.name,
            CalendarTemplate.language,
            CalendarConnection.language,
        )
        .join(CalendarConnection, CalendarConnection.id == CalendarTemplate.calendar_id)
        .where(
            CalendarConnection.account_id == account_id,
            CalendarConnection.disconnected_at.is_(None),
            CalendarTemplate.template_id.in_(template_ids),
        )
        .order_by(CalendarConnection.name, CalendarConnection.id)
    ).all()
    if not rows:
        return {}
    account_language = queries.account(db, account_id).language
    chosen = calendar_templates(db, {row[1] for row in rows})
    found: dict[int, list[Use]] = {}
    for template_id, calendar_id, name, language, own_language in rows:
        default = calendar_default(own_language, chosen.get(calendar_id, {}).keys(), account_language)
        found.setdefault(template_id, []).append(Use(calendar_id, name, language, default.language))
    return found


def keep_calendar_languages(db: Session, account_id: int, template: MessageTemplate) -> None:
    """Before `template` is deleted: calendars whose language it alone decided keep that language.

    A calendar without a language of its own whose only chosen templates are of `template`'s
    language writes that language (`calendar_language`); without this it would switch to the
    account's language, and the delete page promises the built-in text of the template's language.
    """
    uses = uses_of(db, account_id, [template.id]).get(template.id, [])
    for calendar in (db.get_one(CalendarConnection, use.calendar_id) for use in uses):
        if not calendar.language:
            chosen = calendar_templates(db, [calendar.id]).get(calendar.id, {}).keys()
            if calendar_language(None, chosen) == template.language:
                calendar.language = template.language


def _calendar_choice(typed: str, calendars: Sequence[CalendarConnection], using: Sequence[int]) -> int | None:
    """The calendar the preview is for: the one chosen, else one using the template, else the first."""
    ids = [c.id for c in calendars]
    if typed.isdigit() and int(typed) in ids:
        return int(typed)
    return next((i for i in using if i in ids), ids[0] if ids else None)
