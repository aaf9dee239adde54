"""The owner's pages over HTTP: settings, credit, users, invitations and who may see them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from connectors.calendars.memory import InMemoryCalendar
from connectors.mail import MailError, OutgoingMail
from reminders.billing import credit
from reminders.bootstrap import Services
from reminders.calendars.sync import sync_connection
from reminders.models import Account, User
from reminders.planning.plan import QUIET_LEAD
from tests.support.clock import FakeClock
from tests.support.factories import event, make_account, make_calendar
from tests.support.reading import all_reminders
from tests.support.web import PASSWORD, app_client, link_in, make_user, sent_mails, signed_in

OWNER = "owner@example.com"
STAFF = "staff@example.com"
SETTINGS = {
    "name": "Praxis am See",
    "sender_name": "PraxisSee",
    "home_region": "de",
    "timezone": "europe/berlin",
    "language": "fr",
    "quiet_start": "20:30",
    "quiet_end": "07:45",
    "language_by_prefix": "+33 fr\n+4191 IT, +39 it",
}


def make_business(services: Services, name: str = "Praxis Test", credit_balance: int = 0) -> int:
    """An account with an owner and a staff member; returns the account id."""
    with services.factory.begin() as session:
        account = make_account(session, name=name, credit_balance=credit_balance, now=services.clock())
        prefix = "" if name == "Praxis Test" else f"{account.id}-"
        make_user(session, account, email=prefix + OWNER)
        make_user(session, account, email=prefix + STAFF, role="staff")
        return account.id


def account_row(services: Services, account_id: int) -> Account:
    with services.factory() as session:
        return session.get_one(Account, account_id)


def user_emails(services: Services, account_id: int) -> list[str]:
    with services.factory() as session:
        return sorted(session.scalars(select(User.email).where(User.account_id == account_id)))


def user_id(services: Services, email: str) -> int:
    with services.factory() as session:
        return session.scalars(select(User.id).where(User.email == email)).one()


def field_error(page: str, name: str) -> str:
    found = re.search(rf'<small id="e-{name}" class="field-error">([^<]*)</small>', page)
    assert found is not None, f"no error next to {name}"
    return found.group(1)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/account"),
        ("post", "/account"),
        ("get", "/account/credit"),
        ("get", "/account/users"),
        ("post", "/account/users"),
        ("get", "/account/users/1/remove"),
        ("post", "/account/users/1/remove"),
    ],
)
def test_staff_may_not_use_the_owner_pages(services: Services, method: str, path: str) -> None:
    account_id = make_business(services)
    with signed_in(services, STAFF) as web:
        response = web.get(path) if method == "get" else web.post(path, {"email": "x@example.com"})
        overview = web.get("/")

    assert response.status_code == 403
    assert "Only for owners" in response.text
    assert '<li><a href="/account"' not in overview.text  # not in the staff's menu
    assert user_emails(services, account_id) == [OWNER, STAFF]


def test_the_owner_saves_the_business_settings(services: Services) -> None:
    account_id = make_business(services)
    with signed_in(services, OWNER) as web:
        form = web.get("/account")
        saved = web.post("/account", SETTINGS)
        again = web.get("/account")

    assert 'value="Praxis Test"' in form.text
    assert 'value="21:00"' in form.text
    assert (saved.status_code, saved.headers["location"]) == (303, "/account?notice=saved")
    account = account_row(services, account_id)
    assert (account.name, account.sender_name, account.home_region) == ("Praxis am See", "PraxisSee", "DE")
    assert (account.timezone, account.language) == ("Europe/Berlin", "fr")
    assert (account.quiet_start, account.quiet_end) == (time(20, 30), time(7, 45))
    assert account.language_by_prefix == {"+33": "fr", "+4191": "it", "+39": "it"}
    assert "+33 fr\n+39 it\n+4191 it</textarea>" in again.text
    assert "Praxis am See" in again.text  # the header shows the new name at once


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("name", "  ", "Enter the name of your business."),
        ("sender_name", "", "Enter a sender name."),
        ("sender_name", "Praxis Bella", "Use at most 11 characters."),
        ("sender_name", "Müller", "Use only the letters A–Z"),
        ("sender_name", "0791234567", "Use at least one letter"),
        ("home_region", "XX", "Choose the country of your business."),
        ("timezone", "Europe/Nowhere", "Enter a time zone such as Europe/Zurich."),
        ("language", "es", "Choose German, French, Italian or English."),
        ("quiet_start", "25:00", "Enter a time such as 21:00."),
        ("language_by_prefix", "+33 fr\n33 fr", "Line 2: a country code is + and digits"),
        ("language_by_prefix", "+33 es", "Line 1: the language must be de, fr, it or en."),
        ("language_by_prefix", "+33 fr\n\n+33 it", "Line 3: this country code is listed twice."),
        ("language_by_prefix", "+999 fr", "Line 1: no country has this code."),
        ("language_by_prefix", "fr", "Line 1: write a country code and a language"),
    ],
)
def test_settings_errors_are_shown_next_to_the_field_with_the_input_kept(
    services: Services, field: str, typed: str, message: str
) -> None:
    account_id = make_business(services)
    with signed_in(services, OWNER) as web:
        page = web.post("/account", {**SETTINGS, field: typed})

    assert page.status_code == 422
    assert message in field_error(page.text, field)
    assert 'value="Praxis am See"' in page.text or field == "name"
    if field == "language_by_prefix":
        assert f">{typed}</textarea>" in page.text
    elif field not in ("home_region", "language"):  # selects keep the choice among their options
        assert f'value="{typed}"' in page.text
    assert account_row(services, account_id).name == "Praxis Test"


def test_new_quiet_hours_move_reminders_already_planned(services: Services, clock: FakeClock) -> None:
    account_id = make_business(services)
    source = InMemoryCalendar()
    with services.factory.begin() as session:
        calendar_id = make_calendar(session, session.get_one(Account, account_id), rules=((2, "hours"),)).id
    source.put(event("e1", datetime(2026, 11, 24, 14, 0, tzinfo=UTC)))  # 15:00 in Zurich
    sync_connection(services.factory, calendar_id, source, now=clock(), horizon_days=60)
    (planned,) = all_reminders(services)
    assert planned.due_at == datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # 13:00 in Zurich

    with signed_in(services, OWNER) as web:
        saved = web.post(
            "/account",
            {**SETTINGS, "timezone": "Europe/Zurich", "quiet_start": "12:00", "quiet_end": "14:00"},
        )

    assert saved.status_code == 303
    (moved,) = all_reminders(services)
    # the quiet hours begin at 12:00 in Zurich; the send goes out their lead before, so it arrives in time
    assert moved.due_at == datetime(2026, 11, 24, 11, 0, tzinfo=UTC) - QUIET_LEAD


def test_the_credit_page_shows_the_balance_the_history_and_how_to_get_more(services: Services) -> None:
    account_id = make_business(services, credit_balance=10)
    with services.factory.begin() as session:
        credit.grant(
            session,
            account_id,
            25,
            kind="adjustment",
            now=services.clock() + timedelta(hours=1),
            note="Paket",
        )
    with signed_in(services, OWNER) as web:
        page = web.get("/account/credit")

    assert page.status_code == 200
    assert '<div class="big" data-testid="balance">35</div>' in page.text
    assert "How to get more credit" in page.text
    history = page.text.split("<h2>History</h2>")[1]
    assert history.index("+25") < history.index("+10")  # newest first
    assert "Paket" in history
    assert "Correction" in history


def test_an_invited_colleague_chooses_a_password_and_is_signed_in_as_staff(services: Services) -> None:
    account_id = make_business(services)
    with signed_in(services, OWNER) as owner:
        invited = owner.post(
            "/account/users", {"email": "Anna@Example.com", "name": "Anna Muster", "role": "staff"}
        )
        listing = owner.get("/account/users")
    assert (invited.status_code, invited.headers["location"]) == (303, "/account/users?notice=invited")
    assert "anna@example.com" in listing.text
    assert "invited" in listing.text
    (mail,) = [m for m in sent_mails(services) if m.to == "anna@example.com"]
    assert "Praxis Test" in mail.subject

    with app_client(services) as anna:
        form = anna.get(link_in(mail))
        assert form.status_code == 200
        chosen = anna.post(link_in(mail), {"password": PASSWORD, "repeat": PASSWORD})
        assert chosen.status_code == 303
        overview = anna.get("/")
        settings = anna.get("/account")
        numbers = anna.get("/numbers/blacklist")

    assert overview.status_code == 200
    assert "Praxis Test" in overview.text
    assert settings.status_code == 403
    assert numbers.status_code == 200
    with services.factory() as session:
        anna_row = session.scalars(select(User).where(User.email == "anna@example.com")).one()
        assert (anna_row.account_id, anna_row.role, anna_row.name) == (account_id, "staff", "Anna Muster")
        assert anna_row.email_confirmed_at is not None


def test_inviting_a_user_of_this_account_again_is_refused_with_the_input_kept(services: Services) -> None:
    account_id = make_business(services)
    with signed_in(services, OWNER) as web:
        page = web.post("/account/users", {"email": STAFF, "name": "Again", "role": "owner"})
        bad = web.post("/account/users", {"email": "not-an-address", "name": "", "role": "boss"})

    assert page.status_code == 422
    # The owner sees this account's users on the same page: saying so reveals nothing.
    assert "is a user of this account already" in field_error(page.text, "email")
    assert f'value="{STAFF}"' in page.text
    assert 'value="Again"' in page.text
    assert '<option value="owner" selected>' in page.text
    assert bad.status_code == 422
    assert field_error(bad.text, "role") == "Choose owner or staff."
    assert user_emails(services, account_id) == [OWNER, STAFF]


def invitation_row(page: str, address: str) -> str:
    """The users-table row of a pending invitation, with its address and id made neutral."""
    (row,) = [r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if address in r]
    return re.sub(r"/account/invitations/\d+/", "/account/invitations/ID/", row.replace(address, "ADDRESS"))


def test_inviting_an_address_with_an_account_elsewhere_answers_like_any_invitation(
    services: Services,
) -> None:
    make_business(services)
    elsewhere = make_business(services, name="Salon Nord")
    used = f"{elsewhere}-{OWNER}"
    with services.factory.begin() as session:
        session.scalars(select(User).where(User.email == used)).one().language = "de"
    with signed_in(services, OWNER) as web:
        answers = {
            address: web.post("/account/users", {"email": address, "name": "Anna", "role": "staff"})
            for address in ("anna@example.com", used.upper())
        }
        listing = web.get("/account/users").text
    mails = {mail.to: mail for mail in sent_mails(services)}

    fresh, taken = answers["anna@example.com"], answers[used.upper()]
    assert (fresh.status_code, fresh.headers["location"], fresh.text) == (
        taken.status_code,
        taken.headers["location"],
        taken.text,
    )
    assert fresh.headers["location"] == "/account/users?notice=invited"
    assert invitation_row(listing, "anna@example.com") == invitation_row(listing, used)
    assert "invited" in invitation_row(listing, used)
    assert "/invite/" in mails["anna@example.com"].body
    existing = mails[used]
    assert "/invite/" not in existing.body  # one address, one account: no link to join
    assert "Praxis Test" in existing.subject
    assert "gehört bereits zu einem anderen reminders-Konto" in existing.body  # in the user's language
    assert user_emails(services, elsewhere) == [used, f"{elsewhere}-{STAFF}"]  # nothing changed there


def test_an_invitation_sent_again_retires_the_older_link(services: Services, clock: FakeClock) -> None:
    make_business(services)
    with signed_in(services, OWNER) as owner:
        owner.post("/account/users", {"email": "anna@example.com", "name": "Anna", "role": "staff"})
        clock.advance(timedelta(minutes=1))
        owner.post("/account/users", {"email": "anna@example.com", "name": "Anna M.", "role": "owner"})
        listing = owner.get("/account/users").text
    first, second = (link_in(m) for m in sent_mails(services) if m.to == "anna@example.com")

    with app_client(services) as anna:
        old = anna.get(first)
        new = anna.get(second)
    assert listing.count("anna@example.com") == 1
    assert old.status_code == 400
    assert new.status_code == 200


def test_a_withdrawn_invitation_is_gone_and_its_link_stops_working(services: Services) -> None:
    make_business(services)
    with signed_in(services, OWNER) as owner:
        owner.post("/account/users", {"email": "anna@example.com", "name": "Anna", "role": "staff"})
        found = re.search(r'href="(/account/invitations/\d+/withdraw)"', owner.get("/account/users").text)
        assert found is not None
        question = owner.get(found.group(1))
        done = owner.post(found.group(1))
        listing = owner.get("/account/users").text
    (mail,) = sent_mails(services)

    with app_client(services) as anna:
        dead = anna.get(link_in(mail))
    assert question.status_code == 200
    assert "anna@example.com" in question.text
    assert (done.status_code, done.headers["location"]) == (303, "/account/users?notice=withdrawn")
    assert "anna@example.com" not in listing
    assert dead.status_code == 400


def test_an_invitation_to_an_address_that_got_an_account_since_is_refused(services: Services) -> None:
    make_business(services)
    with signed_in(services, OWNER) as owner:
        owner.post("/account/users", {"email": "anna@example.com", "name": "Anna", "role": "staff"})
    (mail,) = sent_mails(services)
    with services.factory.begin() as session:
        make_user(session, make_account(session, name="Annas Salon"), email="anna@example.com")

    with app_client(services) as anna:
        refused = anna.post(link_in(mail), {"password": PASSWORD, "repeat": PASSWORD})
    assert refused.status_code == 422
    assert "has an account already" in refused.text


class BrokenMailer:
    def send(self, mail: OutgoingMail) -> None:
        raise MailError("connection refused")


def test_an_invitation_whose_mail_fails_says_so_and_invites_nobody(services: Services) -> None:
    account_id = make_business(services)
    services.mailer = BrokenMailer()
    with signed_in(services, OWNER) as web:
        page = web.post("/account/users", {"email": "anna@example.com", "name": "Anna", "role": "staff"})

    assert page.status_code == 502
    assert "The invitation e-mail could not be sent, so nobody was invited." in page.text
    assert 'value="anna@example.com"' in page.text
    assert user_emails(services, account_id) == [OWNER, STAFF]


def test_removing_a_user_asks_first_then_ends_their_access(services: Services) -> None:
    account_id = make_business(services)
    staff_id = user_id(services, STAFF)
    with signed_in(services, STAFF) as staff, signed_in(services, OWNER) as owner:
        question = owner.get(f"/account/users/{staff_id}/remove")
        assert user_emails(services, account_id) == [OWNER, STAFF]
        done = owner.post(f"/account/users/{staff_id}/remove")
        after = staff.get("/numbers/blacklist")

    assert question.status_code == 200
    assert f'action="/account/users/{staff_id}/remove"' in question.text
    assert (done.status_code, done.headers["location"]) == (303, "/account/users?notice=removed")
    assert user_emails(services, account_id) == [OWNER]
    assert after.headers["location"].startswith("/login")


def test_the_last_owner_cannot_be_removed(services: Services) -> None:
    account_id = make_business(services)
    owner_id = user_id(services, OWNER)
    with signed_in(services, OWNER) as web:
        page = web.post(f"/account/users/{owner_id}/remove")

    assert page.status_code == 409
    assert "An account needs at least one owner." in page.text
    assert user_emails(services, account_id) == [OWNER, STAFF]


def test_an_owner_may_leave_when_another_owner_stays(services: Services) -> None:
    account_id = make_business(services)
    with services.factory.begin() as session:
        make_user(session, session.get_one(Account, account_id), email="second@example.com")
    with signed_in(services, OWNER) as web:
        left = web.post(f"/account/users/{user_id(services, OWNER)}/remove")
        after = web.get("/account")

    assert (left.status_code, left.headers["location"]) == (303, "/login")
    assert after.headers["location"].startswith("/login")
    assert user_emails(services, account_id) == ["second@example.com", STAFF]


def test_another_account_s_users_are_not_found(services: Services) -> None:
    make_business(services)
    other = make_business(services, name="Salon Nord")
    stranger = user_id(services, f"{other}-{STAFF}")
    with signed_in(services, OWNER) as web:
        listing = web.get("/account/users")
        question = web.get(f"/account/users/{stranger}/remove")
        removal = web.post(f"/account/users/{stranger}/remove")

    assert f"{other}-{STAFF}" not in listing.text
    assert (question.status_code, removal.status_code) == (404, 404)
    assert len(user_emails(services, other)) == 2
