"""Sign-up, confirmation, sign-in, sign-out and password reset through the pages, with real cookies."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from reminders.bootstrap import Services
from reminders.models import Account, CreditEntry, User
from reminders.settings import Settings
from tests.support.factories import make_account
from tests.support.web import PASSWORD, WebClient, app_client, link_in, make_user, sent_mails, signed_in

GOOD = "a long enough password"


def sign_up(web: WebClient, **overrides: str) -> httpx.Response:
    form = {"business": "Praxis Sonne", "name": "Eva Sonne", "email": "Eva@Example.com", "password": GOOD}
    return web.post("/signup", {**form, **overrides})


def test_signing_up_creates_the_business_with_ten_free_sms_and_signs_the_owner_in(services: Services) -> None:
    with app_client(services) as web:
        created = sign_up(web, language="en")
        overview = web.get("/")

    assert created.status_code == 303
    assert overview.status_code == 200
    assert "Praxis Sonne" in overview.text
    assert "Please confirm your e-mail address" in overview.text
    with services.factory() as session:
        user = session.scalars(select(User)).one()
        account = session.get_one(Account, user.account_id)
        assert (user.email, user.role, user.language) == ("eva@example.com", "owner", "en")
        assert user.password_hash is not None
        assert user.password_hash.startswith("$argon2id$")
        assert account.credit_balance == 10
        assert session.scalars(select(CreditEntry.kind)).all() == ["grant"]


def test_bad_sign_up_input_is_shown_next_to_each_field_and_kept(services: Services) -> None:
    with services.factory.begin() as session:
        make_user(session, make_account(session), email="taken@example.com")
    with app_client(services) as web:
        short = sign_up(web, business="", email="not-an-address", password="short", language="en")
        taken = sign_up(web, email="TAKEN@example.com", language="en")

    assert short.status_code == 422
    assert 'id="e-business"' in short.text
    assert "Enter the name of your business." in short.text
    assert 'id="e-email"' in short.text
    assert 'value="not-an-address"' in short.text
    assert 'id="e-password"' in short.text
    assert "at least 10 characters" in short.text.lower()
    assert GOOD not in short.text
    assert "short" not in short.text.split('id="f-password"')[1][:80]
    assert taken.status_code == 422
    assert "exists already" in taken.text
    with services.factory() as session:
        assert session.scalars(select(User)).all()[0].email == "taken@example.com"
        assert len(session.scalars(select(Account)).all()) == 1


def test_the_confirmation_link_confirms_the_address_once_and_forged_links_do_nothing(
    services: Services,
) -> None:
    with app_client(services) as web:
        sign_up(web)
        (mail,) = sent_mails(services)
        link = link_in(mail)
        forged = web.get(link[:-3] + "abc")
        confirmed = web.get(link)
        page = web.get("/")

    assert mail.to == "eva@example.com"
    assert "/confirm/" in link
    assert forged.status_code == 400
    assert confirmed.status_code == 303
    assert "Please confirm your e-mail address" not in page.text
    with services.factory() as session:
        assert session.scalars(select(User)).one().email_confirmed_at is not None


def test_sign_in_and_out(services: Services) -> None:
    with services.factory.begin() as session:
        email = make_user(session, make_account(session)).email
    with app_client(services) as web:
        wrong = web.post("/login", {"email": email, "password": "wrong password!"})
        right = web.post("/login", {"email": email.upper(), "password": PASSWORD, "next": "/calendars"})
        inside = web.get("/calendars")
        out = web.post("/logout")
        after = web.get("/calendars")

    assert wrong.status_code == 401
    assert "The e-mail address or the password is wrong." in wrong.text
    assert 'value="' + email + '"' in wrong.text
    assert (right.status_code, right.headers["location"]) == (303, "/calendars")
    assert inside.status_code == 200
    assert out.status_code == 303
    assert after.status_code == 303


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_sign_in_never_redirects_to_another_site(services: Services, target: str) -> None:
    with services.factory.begin() as session:
        email = make_user(session, make_account(session)).email
    with app_client(services) as web:
        response = web.post("/login", {"email": email, "password": PASSWORD, "next": target})

    assert response.headers["location"] == "/"


def test_failed_sign_ins_are_rate_limited_per_address(settings: Settings, services: Services) -> None:
    with services.factory.begin() as session:
        email = make_user(session, make_account(session)).email
    attempts = settings.login_attempts_per_15_minutes
    with app_client(services) as web:
        codes = [
            web.post("/login", {"email": email, "password": "wrong password"}).status_code
            for _ in range(attempts)
        ]
        blocked = web.post("/login", {"email": email, "password": PASSWORD})

    assert set(codes) == {401}
    assert blocked.status_code == 429
    assert "Too many failed attempts" in blocked.text


def test_a_password_reset_link_works_once_and_ends_other_sessions(services: Services) -> None:
    with services.factory.begin() as session:
        email = make_user(session, make_account(session)).email
    with signed_in(services, email) as other_device, app_client(services) as web:
        unknown = web.post("/password/forgot", {"email": "nobody@example.com"})
        asked = web.post("/password/forgot", {"email": email})
        (mail,) = sent_mails(services)
        link = link_in(mail)
        mismatch = web.post(link, {"password": "brand new password", "repeat": "another one here"})
        reset = web.post(link, {"password": "brand new password", "repeat": "brand new password"})
        reused = web.post(link, {"password": "third password here", "repeat": "third password here"})
        signed_in_now = web.get("/")
        old_session = other_device.get("/")

    assert unknown.text.count("If an account uses this address") == 1
    assert (
        asked.status_code == unknown.status_code == 200
    )  # the same answer: nobody learns who has an account
    assert mismatch.status_code == 422
    assert "The two passwords differ." in mismatch.text
    assert reset.status_code == 303
    assert reused.status_code == 400
    assert signed_in_now.status_code == 200
    assert old_session.status_code == 303  # the password change ended the other session
    with app_client(services) as web:
        assert web.post("/login", {"email": email, "password": "brand new password"}).status_code == 303


def test_the_session_cookie_is_http_only_and_same_site(services: Services) -> None:
    with app_client(services) as web:
        response = web.get("/login")

    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie


def test_the_cookie_is_secure_behind_https(settings: Settings, services: Services) -> None:
    services.settings = settings.model_copy(update={"public_url": "https://reminders.example"})
    with app_client(services) as web:
        cookie = web.get("/login").headers["set-cookie"].lower()

    assert "secure" in cookie


def test_a_form_without_the_session_token_is_refused(services: Services) -> None:
    with services.factory.begin() as session:
        email = make_user(session, make_account(session)).email
    with app_client(services) as web:
        missing = web.post("/login", {"email": email, "password": PASSWORD}, csrf=False)
        forged = web.post("/login", {"email": email, "password": PASSWORD, "csrf": "0" * 64})

    assert missing.status_code == forged.status_code == 403
    assert "The form expired" in missing.text


def test_the_ui_speaks_the_users_language(services: Services) -> None:
    with services.factory.begin() as session:
        email = make_user(session, make_account(session), language="de").email
    with signed_in(services, email) as web:
        german = web.get("/").text
        web.post("/me/language", {"language": "en", "next": "/"})
        english = web.get("/").text

    assert '<html lang="de">' in german
    assert "Übersicht" in german
    assert '<html lang="en">' in english
    assert "Overview" in english
