"""The pages that say which language reminders go out in, and the formats of a new account.

Sign-up asks for the reminder language apart from the interface language; the business settings
name it; the template library says for which language a calendar uses a template; the calendar
page and the preview say which language the reminders go out in; dates follow the account's
country; the time zone is picked from the IANA list; the sender defaults to the business name.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from reminders.bootstrap import Services
from reminders.calendars.configure import save_template, use_template
from reminders.models import Account, CalendarConnection, MessageTemplate, User
from tests.support.clock import FakeClock
from tests.support.factories import event, make_calendar
from tests.support.salons import Salon, make_salon, sync_events
from tests.support.web import WebClient, app_client, signed_in

GOOD = "a long enough password"


def sign_up(web: WebClient, **overrides: str) -> httpx.Response:
    form = {
        "business": "Salon Lea",
        "name": "Lea",
        "email": "lea@example.com",
        "password": GOOD,
        "language": "en",
    }
    return web.post("/signup", {**form, **overrides})


def selected(page: str, name: str) -> str:
    """The value of the selected option of the select `name`."""
    select_html = page.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
    found = re.search(r'<option value="([^"]*)" selected>', select_html)
    assert found is not None, f"nothing selected in {name}"
    return found.group(1)


def new_account(services: Services) -> Account:
    with services.factory() as session:
        user = session.scalars(select(User).where(User.email == "lea@example.com")).one()
        return session.get_one(Account, user.account_id)


def choose_templates(
    services: Services, salon: Salon, bodies: dict[str, str], *, account_language: str
) -> None:
    with services.factory.begin() as session:
        session.get_one(Account, salon.account_id).language = account_language
        for language, body in bodies.items():
            template = save_template(
                session,
                salon.account_id,
                name=f"Mine {language}",
                language=language,
                body=body,
                now=services.clock(),
            )
            use_template(session, salon.calendar_id, template)


# --- sign-up ------------------------------------------------------------------------------------


def test_sign_up_asks_for_the_reminder_language_apart_from_the_page_language(services: Services) -> None:
    with app_client(services) as web:
        english = web.http.get("/signup", headers={"Accept-Language": "en-US,en;q=0.9"}).text
        french = web.http.get("/signup", headers={"Accept-Language": "fr-CH,fr;q=0.9,en;q=0.8"}).text

    assert "Language of these pages" in english
    assert "Language of the reminders" in english
    assert "The language of the SMS your clients get." in english
    assert selected(english, "reminder_language") == "en"
    assert selected(french, "reminder_language") == "fr"  # proposed from the browser, shown, changeable
    options = re.findall(
        r'<option value="(\w\w)"', english.split('name="reminder_language"')[1].split("</select>")[0]
    )
    assert options == ["de", "fr", "it", "en"]


def test_the_reminder_language_chosen_at_sign_up_is_the_accounts_not_the_page_language(
    services: Services,
) -> None:
    with app_client(services) as web:
        answer = sign_up(web, language="en", reminder_language="de")

    assert answer.status_code == 303
    account = new_account(services)
    assert account.language == "de"
    with services.factory() as session:
        assert session.scalars(select(User.language)).one() == "en"


def test_a_language_we_do_not_write_is_refused_next_to_the_field(services: Services) -> None:
    with app_client(services) as web:
        answer = sign_up(web, reminder_language="es")

    assert answer.status_code == 422
    assert re.search(
        r'<small id="e-reminder_language" class="field-error">Choose German, French', answer.text
    )
    with services.factory() as session:
        assert session.scalars(select(Account)).all() == []


def test_the_sender_of_a_new_account_is_its_business_name_where_it_fits(services: Services) -> None:
    with app_client(services) as web:
        sign_up(web, business="Café Léa", reminder_language="fr")
        sign_up(web, business="Praxis Sonnenberg", email="sonne@example.com", reminder_language="de")

    with services.factory() as session:
        senders = {
            name: sender for name, sender in session.execute(select(Account.name, Account.sender_name))
        }
    assert senders == {"Café Léa": "Cafe Lea", "Praxis Sonnenberg": "Reminder"}


# --- business settings --------------------------------------------------------------------------


def test_the_business_settings_name_the_reminder_language_and_list_the_time_zones(services: Services) -> None:
    salon = make_salon(services)
    with signed_in(services, salon.owner) as web:
        page = web.get("/account").text
        refused = web.post(
            "/account",
            {
                "name": "Praxis Sonne",
                "sender_name": "Sonne",
                "home_region": "CH",
                "timezone": "Mars/Olympus",
                "language": "de",
                "quiet_start": "21:00",
                "quiet_end": "08:00",
                "language_by_prefix": "",
            },
        )

    assert '<label for="f-language">Language of the reminders</label>' in page
    assert "whatever language you read these pages in" in page
    assert re.search(
        r'<input id="f-timezone" name="timezone" type="text" value="Europe/Zurich"[^>]* list="zones"', page
    )
    zones = re.findall(
        r'<option value="([^"]+)">', page.split('<datalist id="zones">')[1].split("</datalist>")[0]
    )
    assert {"Europe/Zurich", "America/New_York"} <= set(zones)
    assert zones == sorted(zones)
    assert not re.search(r"<script>|style=", page)  # the CSP forbids inline code
    assert refused.status_code == 422
    assert (
        '<small id="e-timezone" class="field-error">Enter a time zone such as Europe/Zurich.</small>'
        in refused.text
    )


# --- templates, calendar page, preview ----------------------------------------------------------


def test_the_template_list_says_for_which_language_and_whether_it_is_the_calendars_default(
    services: Services,
) -> None:
    salon = make_salon(services, "Salon Stuhl")
    choose_templates(services, salon, {"de": "Termin {date}"}, account_language="en")
    with services.factory.begin() as session:
        account = session.get_one(Account, salon.account_id)
        english = make_calendar(
            session, account, name="Salon Stuhl 2", external_id="memory://two", language="en"
        )
        template = session.scalars(select(MessageTemplate)).one()
        use_template(session, english.id, template)
        template_id = template.id
    with signed_in(services, salon.owner) as web:
        listing = html.unescape(web.get("/templates").text)
        editor = html.unescape(web.get(f"/templates/{template_id}").text)

    # The first calendar has no language of its own: its only template's language is its language.
    assert (
        'Salon Stuhl Kalender</a> <span class="muted">(for Deutsch, its default language)</span>' in listing
    )
    assert (
        'Salon Stuhl 2</a> <span class="muted">(for Deutsch; its reminders are in English by default)</span>'
        in listing
    )
    assert "(for Deutsch, its default language)" in editor


def test_the_calendar_page_says_in_which_language_its_reminders_go_out(services: Services) -> None:
    salon = make_salon(services, "Salon Stuhl")
    with signed_in(services, salon.owner) as web:
        before = html.unescape(web.get(f"/calendars/{salon.calendar_id}").text)
        choose_templates(services, salon, {"de": "Termin {date}"}, account_language="en")
        inferred = html.unescape(web.get(f"/calendars/{salon.calendar_id}").text)
        with services.factory.begin() as session:
            session.get_one(CalendarConnection, salon.calendar_id).language = "it"
        explicit = html.unescape(web.get(f"/calendars/{salon.calendar_id}").text)

    assert (
        "By default this calendar's reminders go out in Deutsch: the account's language of the reminders."
        in before
    )
    assert "Same as the account (Deutsch)" in before
    assert (
        "By default this calendar's reminders go out in Deutsch: "
        "the calendar has templates chosen for this language only." in inferred
    )
    assert '<option value="" selected>As its templates (Deutsch)</option>' in inferred
    assert (
        "By default this calendar's reminders go out in Italiano: the language set for the calendar."
        in explicit
    )


def test_the_preview_says_in_which_language_the_reminder_goes_out(
    services: Services, clock: FakeClock
) -> None:
    salon = make_salon(services, "Salon Stuhl")
    choose_templates(services, salon, {"de": "Termin {date}"}, account_language="en")
    sync_events(
        services,
        salon,
        event("a", clock() + timedelta(days=1)),
        event("b", clock() + timedelta(days=2), title="Coupe [fr]"),
    )
    with signed_in(services, salon.owner) as web:
        german = web.post_json(
            "/templates/preview", {"body": "{date}", "language": "de", "calendar_id": salon.calendar_id}
        )
        english = web.post_json(
            "/templates/preview", {"body": "{date}", "language": "en", "calendar_id": salon.calendar_id}
        )

    assert german.json()["goes_out"] == "de"
    shown = html.unescape(german.json()["html"])
    assert (
        "The reminder of this appointment goes out in Deutsch: "
        "the calendar has templates chosen for this language only." in shown
    )
    assert "It is not written with this text" not in shown
    other = html.unescape(english.json()["html"])
    assert '<p class="warning" data-preview-language>' in other
    assert "It is not written with this text, which is in English." in other


def test_deleting_the_template_that_gave_a_calendar_its_language_keeps_that_language(
    services: Services,
) -> None:
    salon = make_salon(services, "Salon Stuhl")
    choose_templates(services, salon, {"de": "Termin {date}"}, account_language="en")
    with services.factory() as session:
        template_id = session.scalars(select(MessageTemplate.id)).one()
    with signed_in(services, salon.owner) as web:
        confirm = html.unescape(web.get(f"/templates/{template_id}/delete").text)
        assert web.post(f"/templates/{template_id}/delete").status_code == 303

    assert "they send the built-in Deutsch text instead" in confirm
    with services.factory() as session:
        assert session.get_one(CalendarConnection, salon.calendar_id).language == "de"


# --- dates --------------------------------------------------------------------------------------


def test_dates_in_the_english_pages_follow_the_accounts_country(services: Services, clock: FakeClock) -> None:
    salon = make_salon(services, "Salon Stuhl")
    sync_events(services, salon, event("evening", datetime(2026, 12, 2, 20, 3, tzinfo=UTC)))
    with signed_in(services, salon.owner) as web:
        zurich = web.get("/appointments").text
        with services.factory.begin() as session:
            session.get_one(Account, salon.account_id).home_region = "US"
        american = web.get("/appointments").text

    assert "02.12.2026, 21:03" in zurich
    assert "PM" not in zurich
    assert "12/2/26, 9:03\u202fPM" in american


def test_the_language_hints_read_german_for_a_german_reader(services: Services, clock: FakeClock) -> None:
    salon = make_salon(services, "Salon Stuhl", language="de")
    choose_templates(services, salon, {"de": "Termin {date}"}, account_language="en")
    sync_events(services, salon, event("a", clock() + timedelta(days=1)))
    with signed_in(services, salon.owner) as web:
        calendar_page = html.unescape(web.get(f"/calendars/{salon.calendar_id}").text)
        listing = html.unescape(web.get("/templates").text)
        preview = web.post_json(
            "/templates/preview", {"body": "{date}", "language": "fr", "calendar_id": salon.calendar_id}
        ).json()

    assert (
        "Die Erinnerungen dieses Kalenders werden standardmässig in der Sprache Deutsch verschickt: "
        "für den Kalender sind nur Vorlagen dieser Sprache gewählt." in calendar_page
    )
    assert "Wie seine Vorlagen (Deutsch)" in calendar_page
    assert "(für Deutsch, seine Standardsprache)" in listing
    assert "Dieser Text (Sprache Français) wird dafür nicht verwendet." in html.unescape(preview["html"])
