"""Words a new owner and their colleagues meet in the first hour (issue 10, item 8): the notice
after accepting an invitation, the German credit page, and quiet hours that are switched off."""

from __future__ import annotations

import re
from datetime import time

from sqlalchemy import select

from reminders.accounts.service import SignUp, sign_up
from reminders.bootstrap import Services
from reminders.models import User
from tests.support.factories import make_account, make_calendar
from tests.support.web import PASSWORD, app_client, link_in, make_user, sent_mails, signed_in

OWNER = "owner@example.com"


def test_accepting_an_invitation_welcomes_and_says_nothing_of_a_changed_password(services: Services) -> None:
    with services.factory.begin() as session:
        account = make_account(session, name="Praxis Test")
        make_user(session, account, email=OWNER)
    with signed_in(services, OWNER) as owner:
        owner.post("/account/users", {"email": "anna@example.com", "name": "Anna", "role": "staff"})
    (mail,) = [m for m in sent_mails(services) if m.to == "anna@example.com"]

    with app_client(services) as anna:
        chosen = anna.post(link_in(mail), {"password": PASSWORD, "repeat": PASSWORD})
        overview = anna.get(chosen.headers["location"])
        with services.factory.begin() as session:
            session.scalars(select(User).where(User.email == "anna@example.com")).one().language = "de"
        german = anna.get(chosen.headers["location"])

    assert chosen.status_code == 303
    assert overview.status_code == 200
    assert "Welcome! Your account is ready." in overview.text
    assert "password was changed" not in overview.text
    assert "Willkommen! Ihr Konto ist bereit." in german.text


def test_the_german_credit_page_has_no_english_words(services: Services) -> None:
    with services.factory.begin() as session:
        form = SignUp(business="Praxis Sonne", name="Eva", email=OWNER, password=PASSWORD, language="de")
        user = sign_up(session, form, now=services.clock(), free_sms=10).user
        user.email_confirmed_at = services.clock()

    with signed_in(services, OWNER) as web:
        page = web.get("/account/credit")

    assert page.status_code == 200
    history = page.text.split("<h2>Verlauf</h2>")[1]
    assert "Startguthaben" in history
    assert "welcome credit" not in page.text
    # Every word between tags is German (or a number, a date, "SMS").
    body = page.text.split("<main", 1)[1].split("</main>", 1)[0]
    words = set(re.findall(r">([^<>]*[A-Za-z][^<>]*)<", body))
    english = {"credit", "History", "Balance", "Note", "granted", "welcome", "Credit", "What", "Date"}
    assert not {w for text in words for w in re.findall(r"[A-Za-z]+", text)} & english, words


def test_quiet_hours_switched_off_read_no_quiet_hours(services: Services) -> None:
    with services.factory.begin() as session:
        account = make_account(session, name="Praxis Test", quiet_start=time(0), quiet_end=time(0))
        make_user(session, account, email=OWNER)
        german = make_account(session, name="Salon", quiet_start=time(8), quiet_end=time(8))
        make_user(session, german, email="de@example.com", language="de")
        calendar_id = make_calendar(session, account).id
        german_calendar_id = make_calendar(session, german).id
        zurich = make_account(session, name="Zürich")
        make_user(session, zurich, email="zh@example.com")
        zurich_calendar_id = make_calendar(session, zurich).id  # the default quiet hours, 21-08

    with signed_in(services, OWNER) as web:
        page = web.get(f"/calendars/{calendar_id}")
    with signed_in(services, "de@example.com") as web:
        german_page = web.get(f"/calendars/{german_calendar_id}")
    with signed_in(services, "zh@example.com") as web:
        usual = web.get(f"/calendars/{zurich_calendar_id}")

    assert page.status_code == 200
    assert "00:00–00:00" not in page.text
    assert "no quiet hours" in page.text
    assert "08:00–08:00" not in german_page.text
    assert "keine Ruhezeit" in german_page.text
    assert "(21:00–08:00)" in usual.text  # real quiet hours still read as times
