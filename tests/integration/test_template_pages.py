"""The template library over HTTP: create, edit, delete with its consequences, the live preview's
JSON (scoped to the viewer's account and CSRF-protected), and the same preview without JavaScript."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from connectors.calendars.memory import InMemoryCalendar
from reminders.bootstrap import Services
from reminders.calendars.configure import save_template, use_template
from reminders.calendars.sync import sync_connection
from reminders.models import CalendarTemplate, MessageTemplate
from tests.support.clock import FakeClock
from tests.support.factories import event, make_account, make_calendar
from tests.support.web import make_user, signed_in


@dataclass
class Library:
    account_id: int
    calendar_id: int
    empty_calendar_id: int
    template_id: int
    staff: str
    other_calendar_id: int
    other_template_id: int


@pytest.fixture
def library(services: Services, clock: FakeClock) -> Library:
    with services.factory.begin() as session:
        account = make_account(session, name="Praxis Muster", credit_balance=1, now=clock())  # one SMS left
        calendar = make_calendar(session, account, name="Behandlung")
        empty = make_calendar(session, account, name="Leer", external_id="memory://empty")
        template = save_template(
            session, account.id, name="Kurz", language="de", body="Termin {date} {time}", now=clock()
        )
        use_template(session, calendar.id, template)
        staff = make_user(session, account, role="staff").email
        other = make_account(session, name="Other")
        other_calendar = make_calendar(session, other, external_id="memory://other")
        other_template = save_template(
            session, other.id, name="Fremd", language="de", body="{date}", now=clock()
        )
        ids = (account.id, calendar.id, empty.id, template.id, other_calendar.id, other_template.id)
    source = InMemoryCalendar([event("a", clock() + timedelta(days=2), title="Zahnreinigung 079 123 45 67")])
    sync_connection(services.factory, ids[1], source, now=clock(), horizon_days=60)
    return Library(ids[0], ids[1], ids[2], ids[3], staff, ids[4], ids[5])


def test_a_template_that_costs_more_than_the_credit_left_is_saved_with_a_warning(
    services: Services, library: Library
) -> None:
    long_text = "Termin am {date} um {time}. " + "Bitte bringen Sie Ihre Versichertenkarte mit. " * 4
    with signed_in(services, library.staff) as web:
        editor = web.get("/templates/new", language="de")
        preview = web.post(
            "/templates/new", {"name": "Lang", "language": "de", "body": long_text, "action": "preview"}
        )
        saved = web.post("/templates/new", {"name": "Lang", "language": "de", "body": long_text})
        shown = web.get(saved.headers["location"])
        short = web.post(
            "/templates/new", {"name": "Knapp", "language": "de", "body": "Termin {date} {time}"}
        )

    assert "data-preview-credit" not in editor.text  # the built-in text fits one SMS
    assert "Only 1 SMS credits are left, and one reminder with this text costs 2" in preview.text
    assert saved.status_code == 303
    assert saved.headers["location"].endswith("?notice=saved_over_credit")
    assert '<p class="notice warning" role="status">Saved. A reminder with this text costs more' in shown.text
    assert short.headers["location"].endswith("?notice=saved")


def test_the_list_shows_each_template_with_its_calendars(services: Services, library: Library) -> None:
    with signed_in(services, library.staff) as web:
        page = web.get("/templates")

    assert page.status_code == 200
    assert f'<a href="/templates/{library.template_id}">Kurz</a>' in page.text
    assert f'<a href="/calendars/{library.calendar_id}">Behandlung</a>' in page.text
    assert "Fremd" not in page.text
    assert "Reminder: your appointment at {business}" in html.unescape(page.text)  # the built-in texts


def test_a_new_template_is_saved_and_its_editor_shows_the_preview(
    services: Services, library: Library
) -> None:
    with signed_in(services, library.staff) as web:
        blank = web.get("/templates/new", language="fr")
        created = web.post(
            "/templates/new", {"name": "Rappel", "language": "fr", "body": "Rappel {date} à {time}"}
        )
        location = created.headers["location"]
        editor = web.get(location.split("?")[0])

    assert blank.status_code == 200
    assert "Rappel : votre rendez-vous chez {business}" in html.unescape(blank.text)
    assert created.status_code == 303
    with services.factory() as session:
        saved = session.scalars(select(MessageTemplate).where(MessageTemplate.name == "Rappel")).one()
    assert location == f"/templates/{saved.id}?notice=saved"
    assert (saved.account_id, saved.language, saved.body) == (
        library.account_id,
        "fr",
        "Rappel {date} à {time}",
    )
    assert editor.status_code == 200
    assert '<script src="/static/template_editor.js" defer></script>' in editor.text
    assert "<script>" not in editor.text  # no inline script: the CSP forbids it
    assert "Rappel 26.11.2026 à 10h00" in html.unescape(editor.text)  # next appointment of the first calendar
    assert "Credits per reminder: 1" in editor.text


def test_a_placeholder_error_is_shown_next_to_the_body_with_the_text_kept(
    services: Services, library: Library
) -> None:
    typed = "Termin am {datum} – 50% Rabatt"
    with signed_in(services, library.staff) as web:
        page = web.post(
            f"/templates/{library.template_id}", {"name": "Kurz", "language": "de", "body": typed}
        )

    assert page.status_code == 422
    text = html.unescape(page.text)
    error = text.split('id="e-body"', 1)[1].split("</small>", 1)[0]
    assert "Unknown placeholder {datum} (did you mean {date}?)" in error
    assert f">{typed}</textarea>" in text
    with services.factory() as session:
        assert session.get_one(MessageTemplate, library.template_id).body == "Termin {date} {time}"


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"name": "  ", "language": "de", "body": "{date}"}, "name", "Give the template a name."),
        ({"name": "x" * 201, "language": "de", "body": "{date}"}, "name", "Use at most 200 characters."),
        (
            {"name": "Neu", "language": "es", "body": "{date}"},
            "language",
            "Choose one of the listed languages.",
        ),
    ],
)
def test_name_and_language_errors_are_shown_next_to_their_fields(
    services: Services, library: Library, form: dict[str, str], field: str, message: str
) -> None:
    with signed_in(services, library.staff) as web:
        page = web.post("/templates/new", form)

    assert page.status_code == 422
    assert message in page.text.split(f'id="e-{field}"', 1)[1].split("</small>", 1)[0]
    if field == "name":
        assert f'value="{form["name"]}"' in page.text


def test_a_used_template_keeps_its_language(services: Services, library: Library) -> None:
    with signed_in(services, library.staff) as web:
        refused = web.post(
            f"/templates/{library.template_id}", {"name": "Kurz", "language": "it", "body": "{date}"}
        )
        renamed = web.post(
            f"/templates/{library.template_id}", {"name": "Knapp", "language": "de", "body": "{date}"}
        )

    assert refused.status_code == 422
    assert "Calendars use this template" in refused.text.split('id="e-language"', 1)[1]
    assert renamed.status_code == 303
    with services.factory() as session:
        stored = session.get_one(MessageTemplate, library.template_id)
        assert (stored.name, stored.language, stored.body) == ("Knapp", "de", "{date}")


def test_deleting_says_which_calendars_fall_back_to_the_built_in_text(
    services: Services, library: Library
) -> None:
    with signed_in(services, library.staff) as web:
        confirm = web.get(f"/templates/{library.template_id}/delete")
        deleted = web.post(f"/templates/{library.template_id}/delete")

    assert confirm.status_code == 200
    assert "built-in Deutsch text" in confirm.text
    assert f'<a href="/calendars/{library.calendar_id}">Behandlung</a>' in confirm.text
    assert (deleted.status_code, deleted.headers["location"]) == (303, "/templates?notice=deleted")
    with services.factory() as session:
        assert session.get(MessageTemplate, library.template_id) is None
        assert session.scalars(select(CalendarTemplate)).all() == []


def test_the_preview_renders_the_next_appointment_and_says_what_it_costs(
    services: Services, library: Library
) -> None:
    body = "Termin {date} um {time}: {title} 😀"
    with signed_in(services, library.staff) as web:
        answer = web.post_json(
            "/templates/preview", {"body": body, "language": "de", "calendar_id": library.calendar_id}
        )

    assert answer.status_code == 200
    found = answer.json()
    assert found["text"] == "Termin 26.11.2026 um 10:00: Zahnreinigung 😀"  # the number is not shown
    assert (found["encoding"], found["segments"], found["credits"], found["sample"]) == ("ucs2", 1, 1, False)
    assert found["characters"] == len(found["text"])
    assert found["forced_ucs2"] == [{"char": "😀", "name": "GRINNING FACE", "replacement": None}]
    assert "switch the message to UCS-2" in found["html"]
    assert "<script" not in found["html"]


def test_a_long_ucs2_preview_says_what_it_would_cost_in_gsm7(services: Services, library: Library) -> None:
    with signed_in(services, library.staff) as web:
        answer = web.post_json(
            "/templates/preview",
            {"body": "Termin {date} 😀 " + "x" * 80, "language": "de", "calendar_id": None},
        ).json()

    assert (answer["encoding"], answer["segments"], answer["credits"], answer["gsm_credits"]) == (
        "ucs2",
        2,
        2,
        1,
    )
    assert "would cost 1 instead of 2 credits" in answer["html"]


def test_a_calendar_without_appointments_gets_a_sample(services: Services, library: Library) -> None:
    with signed_in(services, library.staff) as web:
        answer = web.post_json(
            "/templates/preview",
            {"body": "{title}, {calendar}", "language": "it", "calendar_id": library.empty_calendar_id},
        ).json()

    assert (answer["text"], answer["sample"]) == ("Controllo, Leer", True)


def test_a_placeholder_error_comes_back_live(services: Services, library: Library) -> None:
    with signed_in(services, library.staff) as web:
        answer = web.post_json("/templates/preview", {"body": "{Date}", "language": "de"}).json()

    assert answer["text"] is None
    assert "did you mean {date}?" in answer["error"]
    assert "did you mean {date}?" in html.unescape(answer["html"])


def test_the_preview_is_scoped_to_the_account_and_needs_the_csrf_header(
    services: Services, library: Library
) -> None:
    payload = {"body": "{date}", "language": "de", "calendar_id": library.other_calendar_id}
    with signed_in(services, library.staff) as web:
        foreign = web.post_json("/templates/preview", payload)
        forged = web.http.post("/templates/preview", json={**payload, "calendar_id": library.calendar_id})

    assert foreign.status_code == 404
    assert forged.status_code == 403


def test_without_javascript_the_preview_button_rerenders_without_saving(
    services: Services, library: Library
) -> None:
    form = {
        "name": "Kurz",
        "language": "de",
        "body": "Neu {date}",
        "calendar": str(library.empty_calendar_id),
        "action": "preview",
    }
    with signed_in(services, library.staff) as web:
        page = web.post(f"/templates/{library.template_id}", form)

    assert page.status_code == 200
    assert "Neu 25.11.2026" in page.text  # the sample appointment of the empty calendar: tomorrow
    assert f'<option value="{library.empty_calendar_id}" selected>' in page.text
    with services.factory() as session:
        assert session.get_one(MessageTemplate, library.template_id).body == "Termin {date} {time}"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/templates/{id}"),
        ("post", "/templates/{id}"),
        ("get", "/templates/{id}/delete"),
        ("post", "/templates/{id}/delete"),
    ],
)
def test_another_accounts_template_is_not_found(
    services: Services, library: Library, method: str, path: str
) -> None:
    url = path.format(id=library.other_template_id)
    with signed_in(services, library.staff) as web:
        page = (
            web.get(url)
            if method == "get"
            else web.post(url, {"name": "x", "language": "de", "body": "{date}"})
        )

    assert page.status_code == 404
    with services.factory() as session:
        other = session.get_one(MessageTemplate, library.other_template_id)
        assert (other.name, other.body) == ("Fremd", "{date}")
