"""Sign-up, confirmation, sign-in, sign-out and password reset through the pages, with real cookies."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from reminders.bootstrap import Services
from reminders.models import Account, CreditEntry, User, UserSession
from reminders.settings import Settings
from reminders.web.app import create_app
from tests.support.clock import FakeClock
from tests.support.factories import make_account
from tests.support.server import live_server
from tests.support.web import PASSWORD, WebClient, app_client, link_in, make_user, sent_mails, signed_in

GOOD = "a long enough password"
SESSION = "reminders_session"
_CSRF = re.compile(r'(name="csrf" value="|name="csrf-token" content=")[^"]+"')


def sign_up(web: WebClient, **overrides: str) -> httpx.Response:
    form = {"business": "Praxis Sonne", "name": "Eva Sonne", "email": "Eva@Example.com", "password": GOOD}
    return web.post("/signup", {**form, **overrides})


@contextmanager
def browsers(services: Services, count: int) -> Iterator[list[WebClient]]:
    """`count` separate browsers (cookie jars) on one running app."""
    with live_server(create_app(services)) as base, ExitStack() as stack:
        clients = [
            stack.enter_context(httpx.Client(base_url=base, timeout=30, headers={"Accept-Language": "en"}))
            for _ in range(count)
        ]
        yield [WebClient(client) for client in clients]


def without_csrf(page: str) -> str:
    return _CSRF.sub("CSRF", page)


def session_rows(services: Services) -> list[UserSession]:
    with services.factory() as session:
        return list(session.scalars(select(UserSession)))


def test_signing_up_creates_the_business_and_the_confirmation_link_leads_to_sign_in(
    services: Services,
) -> None:
    with app_client(services) as web:
        created = sign_up(web, language="en")
        answer = web.get("/signup/sent")
        not_yet = web.get("/")
        (mail,) = sent_mails(services)
        confirmed = web.get(link_in(mail))
        login = web.get(confirmed.headers["location"])
        entered = web.post(
            "/login", {"email": "eva@example.com", "password": GOOD, "next": "/?notice=welcome"}
        )
        overview = web.get(entered.headers["location"])

    assert (created.status_code, created.headers["location"]) == (303, "/signup/sent")
    assert "Check your e-mail" in answer.text
    assert not_yet.headers["location"].startswith("/login")  # signing up does not sign in
    assert mail.to == "eva@example.com"
    assert confirmed.headers["location"] == "/login?notice=confirmed&next=%2F%3Fnotice%3Dwelcome"
    assert "your e-mail address is confirmed" in login.text
    assert 'name="next" value="/?notice=welcome"' in login.text
    assert entered.headers["location"] == "/?notice=welcome"
    assert "Welcome! Next, connect a calendar." in overview.text
    assert "Praxis Sonne" in overview.text
    assert "Please confirm your e-mail address" not in overview.text
    with services.factory() as session:
        user = session.scalars(select(User)).one()
        account = session.get_one(Account, user.account_id)
        assert (user.email, user.role, user.language) == ("eva@example.com", "owner", "en")
        assert user.password_hash is not None
        assert user.password_hash.startswith("$argon2id$")
        assert user.email_confirmed_at is not None
        assert account.credit_balance == 10
        assert session.scalars(select(CreditEntry.kind)).all() == ["grant"]


def test_bad_sign_up_input_is_shown_next_to_each_field_and_kept(services: Services) -> None:
    with app_client(services) as web:
        short = sign_up(web, business="", email="not-an-address", password="short", language="en")

    assert short.status_code == 422
    assert 'id="e-business"' in short.text
    assert "Enter the name of your business." in short.text
    assert 'id="e-email"' in short.text
    assert 'value="not-an-address"' in short.text
    assert 'id="e-password"' in short.text
    assert "at least 10 characters" in short.text.lower()
    assert GOOD not in short.text
    assert "short" not in short.text.split('id="f-password"')[1][:80]


def test_sign_up_answers_the_same_for_an_address_with_an_account_and_says_the_rest_by_mail(
    services: Services,
) -> None:
    with services.factory.begin() as session:
        taken = make_user(session, make_account(session, name="Salon Alt"), email="taken@example.com")
        taken_hash = taken.password_hash
    with browsers(services, 2) as (fresh, used):
        answers: dict[str, tuple[int, str, bool]] = {}
        pages: dict[str, tuple[int, str]] = {}
        for web, address in ((fresh, "new@example.com"), (used, "TAKEN@example.com")):
            web.csrf()  # both browsers have their session before signing up
            posted = sign_up(web, email=address, language="en")
            page = web.get(posted.headers["location"])
            answers[address] = (
                posted.status_code,
                posted.headers["location"],
                "set-cookie" in posted.headers,
            )
            pages[address] = (page.status_code, without_csrf(page.text))
        mails = {mail.to: mail for mail in sent_mails(services)}
        reset_link = re.findall(r"https?://[^/\s]+(/password/reset/\S+)", mails["taken@example.com"].body)
        reset_form = used.get(reset_link[0])

    assert answers["new@example.com"] == answers["TAKEN@example.com"] == (303, "/signup/sent", False)
    assert pages["new@example.com"] == pages["TAKEN@example.com"]
    assert pages["new@example.com"][0] == 200
    assert set(mails) == {"new@example.com", "taken@example.com"}
    assert "/confirm/" in mails["new@example.com"].body
    existing = mails["taken@example.com"]
    assert existing.subject == "You have a reminders account already"
    assert "/login" in existing.body
    assert "/confirm/" not in existing.body
    assert reset_form.status_code == 200  # the mail's reset link works
    with services.factory() as session:
        assert session.scalar(select(func.count()).select_from(Account)) == 2  # nothing made for "taken"
        assert session.scalars(select(User.password_hash).where(User.email == "taken@example.com")).one() == (
            taken_hash
        )


def test_an_unconfirmed_owner_is_not_let_in_by_password_and_gets_a_new_link(services: Services) -> None:
    with app_client(services) as web:
        sign_up(web)  # e.g. someone else, with Eva's address: they must not be able to use the account
        refused = web.post("/login", {"email": "eva@example.com", "password": GOOD})
        inside = web.get("/")
        confirmations = [m for m in sent_mails(services) if "/confirm/" in m.body]

    assert refused.status_code == 403
    assert "Please confirm your e-mail address first" in refused.text
    assert inside.headers["location"].startswith("/login")
    assert len(confirmations) == 2  # the sign-up's and a new one
    assert session_rows(services) == []


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
    assert session_rows(services) == []


def test_a_session_cookie_copied_before_sign_out_is_refused_after_it(services: Services) -> None:
    with services.factory.begin() as session:
        email = make_user(session, make_account(session)).email
    with browsers(services, 2) as (owner, thief):
        owner.sign_in(email)
        copied = {"Cookie": f"{SESSION}={owner.http.cookies[SESSION]}"}
        while_signed_in = thief.http.get("/calendars", headers=copied)
        owner.post("/logout")
        after_sign_out = thief.http.get("/calendars", headers=copied)

    assert while_signed_in.status_code == 200  # the copy is a working cookie...
    assert after_sign_out.status_code == 303  # ...until its session is signed out on the server
    assert after_sign_out.headers["location"].startswith("/login")


def test_the_server_keeps_only_a_digest_of_the_session_id(settings: Settings, services: Services) -> None:
    with services.factory.begin() as session:
        user = make_user(session, make_account(session))
        user_id, email = user.id, user.email
    with signed_in(services, email) as web:
        cookie = web.http.cookies[SESSION]
    secret = settings.secret_key.get_secret_value()
    session_id = URLSafeTimedSerializer(secret, salt="reminders.session").loads(cookie)["s"]

    (row,) = session_rows(services)
    assert row.id_hash == hashlib.sha256(session_id.encode()).hexdigest()
    assert row.user_id == user_id
    assert row.expires_at - row.created_at == timedelta(days=settings.session_days)


def test_an_expired_session_is_refused_and_expired_rows_are_removed(
    settings: Settings, services: Services, clock: FakeClock
) -> None:
    with services.factory.begin() as session:
        email = make_user(session, make_account(session)).email
    with signed_in(services, email) as old, app_client(services) as new:
        clock.advance(timedelta(days=settings.session_days, seconds=1))
        refused = old.get("/")
        new.sign_in(email)
        rows = session_rows(services)

    assert refused.headers["location"].startswith("/login")
    assert len(rows) == 1  # the new sign-in removed the expired row
    assert rows[0].created_at == clock()


def test_last_seen_is_written_at_most_every_few_minutes(services: Services, clock: FakeClock) -> None:
    with services.factory.begin() as session:
        email = make_user(session, make_account(session)).email
    start = clock()
    with signed_in(services, email) as web:
        clock.advance(timedelta(minutes=4))
        web.get("/")
        soon = session_rows(services)[0].last_seen_at
        clock.advance(timedelta(minutes=2))
        web.get("/")
        later = session_rows(services)[0].last_seen_at

    assert soon == start
    assert later == clock()


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


def test_the_owner_still_signs_in_from_a_known_device_after_an_attacker_used_up_the_address_limit(
    settings: Settings, services: Services
) -> None:
    with services.factory.begin() as session:
        email = make_user(session, make_account(session)).email
    with browsers(services, 2) as (owner, attacker):
        owner.sign_in(email)
        owner.post("/logout")
        for _ in range(settings.login_attempts_per_15_minutes):
            attacker.post("/login", {"email": email, "password": "a guessed password"})
        attacker_right = attacker.post("/login", {"email": email, "password": PASSWORD})
        owner_typo = owner.post("/login", {"email": email, "password": "a typo in it"})
        owner_right = owner.post("/login", {"email": email, "password": PASSWORD})

    assert attacker_right.status_code == 429  # locked for devices that never signed in to it
    assert owner_typo.status_code == 401  # the owner's device has its own count
    assert owner_right.status_code == 303


def test_a_device_known_for_another_address_is_unknown_for_this_one(
    settings: Settings, services: Services
) -> None:
    with services.factory.begin() as session:
        account = make_account(session)
        victim = make_user(session, account, email="victim@example.com").email
        own = make_user(session, make_account(session, name="Other"), email="attacker@example.com").email
    with app_client(services) as attacker:
        attacker.sign_in(own)
        for _ in range(settings.login_attempts_per_15_minutes):
            attacker.post("/login", {"email": victim, "password": "a guessed password"})
        locked = attacker.post("/login", {"email": victim, "password": PASSWORD})

    assert locked.status_code == 429


def test_a_known_device_is_limited_by_its_own_counter(settings: Settings, services: Services) -> None:
    with services.factory.begin() as session:
        email = make_user(session, make_account(session)).email
    with browsers(services, 2) as (device, elsewhere):
        device.sign_in(email)
        device.post("/logout")
        codes = [
            device.post("/login", {"email": email, "password": "wrong password"}).status_code
            for _ in range(settings.login_attempts_per_known_device_per_15_minutes)
        ]
        device_locked = device.post("/login", {"email": email, "password": PASSWORD})
        unknown_device = elsewhere.post("/login", {"email": email, "password": PASSWORD})

    assert set(codes) == {401}
    assert device_locked.status_code == 429
    assert unknown_device.status_code == 303  # the device's failures were not the address's


def test_the_known_device_cookie_is_long_lived_http_only_and_sent_to_sign_in_only(
    settings: Settings, services: Services
) -> None:
    with services.factory.begin() as session:
        email = make_user(session, make_account(session)).email
    with app_client(services) as web:
        response = web.sign_in(email)

    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("reminders_device="))
    attributes = cookie.lower()
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert "path=/login" in attributes
    assert f"max-age={settings.known_device_days * 86400}" in attributes
    assert email not in cookie


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
    # The same answer: nobody learns who has an account.
    assert (asked.status_code, without_csrf(asked.text).replace(email, "ADDRESS")) == (
        unknown.status_code,
        without_csrf(unknown.text).replace("nobody@example.com", "ADDRESS"),
    )
    assert mismatch.status_code == 422
    assert "The two passwords differ." in mismatch.text
    assert reset.status_code == 303
    assert reused.status_code == 400
    assert signed_in_now.status_code == 200
    assert old_session.status_code == 303  # the password change ended the other session
    assert len(session_rows(services)) == 1
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
