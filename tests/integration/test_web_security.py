"""Tenant isolation and CSRF, tried on every route the application has.

Two businesses share one installation; every page and form is tried with the other account's
ids. Routes are discovered from the application itself, so a new route is covered (or makes
these tests fail until its kind of id is known here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from pydantic import SecretStr

from connectors.calendars.memory import InMemoryCalendar
from reminders.bootstrap import Services
from reminders.calendars import grants
from reminders.calendars.configure import save_template, use_template
from reminders.calendars.sync import sync_connection
from reminders.models import Appointment, BlockedNumber, Invitation, Reminder, ReminderRuleRow
from reminders.settings import Settings
from reminders.web.app import create_app
from reminders.web.routes import endpoints
from tests.support.clock import FakeClock
from tests.support.factories import event, make_account, make_calendar
from tests.support.reading import all_reminders
from tests.support.web import app_client, make_user, signed_in

PARAM = re.compile(r"\{(\w+)\}")
# Routes that take a token from an e-mail instead of an id; they are covered by the sign-in tests.
PUBLIC_TOKEN_ROUTES = ("/confirm/{token}", "/password/reset/{token}", "/invite/{token}")
# Path parameters that are words, not ids.
WORDS = {"provider": "google", "kind": "blacklist", "token": "not-a-token"}


@dataclass
class Tenant:
    owner_email: str
    ids: dict[str, int]
    # Texts only this tenant's pages may ever show.
    private: tuple[str, ...]


def make_tenant(services: Services, clock: FakeClock, name: str, client_title: str, number: str) -> Tenant:
    now = clock()
    with services.factory.begin() as session:
        account = make_account(session, name=name, credit_balance=10, now=now)
        owner = make_user(session, account, email=f"owner@{name.lower()}.example")
        staff = make_user(session, account, email=f"staff@{name.lower()}.example", role="staff")
        calendar = make_calendar(session, account, name=f"{name} Agenda", external_id=f"memory://{name}")
        template = save_template(
            session, account.id, name=f"{name} Vorlage", language="de", body="{date}", now=now
        )
        use_template(session, calendar.id, template)
        blocked = BlockedNumber(account_id=account.id, kind="blacklist", number=number, note=name)
        session.add(blocked)
        invitation = Invitation(
            account_id=account.id,
            email=f"invited@{name.lower()}.example",
            role="staff",
            language="de",
            sent_at=now,
        )
        session.add(invitation)
        grant = grants.store_grant(
            session,
            services.cipher,
            account_id=account.id,
            provider="google",
            subject=f"{name}@gmail.example",
            token_json="{}",
            scopes="",
            now=now,
        )
        session.flush()
        rule = session.query(ReminderRuleRow).filter_by(calendar_id=calendar.id).first()
        assert rule is not None
        ids = {
            "account": account.id,
            "calendar": calendar.id,
            "template": template.id,
            "blocked": blocked.id,
            "user": staff.id,
            "owner": owner.id,
            "grant": grant.id,
            "rule": rule.id,
            "invitation": invitation.id,
        }
    source = InMemoryCalendar([event("a", now + timedelta(days=2), title=client_title)])
    sync_connection(services.factory, ids["calendar"], source, now=now, horizon_days=60)
    reminder = next(
        r
        for r in all_reminders(services)
        if r.appointment_id and _calendar_of(services, r) == ids["calendar"]
    )
    ids["appointment"], ids["reminder"] = reminder.appointment_id, reminder.id
    private = (f"{name} Agenda", client_title, f"{name} Vorlage", number[-7:], f"invited@{name.lower()}")
    return Tenant(owner.email, ids, private)


def _calendar_of(services: Services, reminder: Reminder) -> int:
    with services.factory() as session:
        return session.get_one(Appointment, reminder.appointment_id).calendar_id


def id_kind(path: str, param: str) -> str:
    """Which row an id in a path names."""
    if param in ("connection_id", "calendar_id"):
        return "calendar"
    if param in (
        "grant_id",
        "rule_id",
        "reminder_id",
        "appointment_id",
        "template_id",
        "user_id",
        "invitation_id",
    ):
        return param.removesuffix("_id")
    if param in ("id", "number_id", "entry_id", "blocked_id"):
        for prefix, kind in (
            ("/calendars/", "calendar"),
            ("/templates/", "template"),
            ("/appointments/", "appointment"),
            ("/numbers/", "blocked"),
            ("/account/users/", "user"),
        ):
            if path.startswith(prefix):
                return kind
    raise AssertionError(f"{path}: unknown id {param!r}; teach id_kind which row it names")


@pytest.fixture
def tenants(services: Services, clock: FakeClock) -> tuple[Tenant, Tenant]:
    return (
        make_tenant(services, clock, "Alpha", "Zahnreinigung Alfred Alpha", "+41790000011"),
        make_tenant(services, clock, "Beta", "Dauerwelle Berta Beta", "+41785556677"),
    )


def concrete_routes(services: Services, *, with_ids: bool = True) -> list[tuple[str, str]]:
    """(method, path template) of the app's routes (only those with an id in the path by default)."""
    found = []
    for path, route in endpoints(create_app(services)):
        if path.startswith("/webhooks/"):
            continue
        names_ids = any(name not in WORDS for name in PARAM.findall(path))
        if with_ids and (path in PUBLIC_TOKEN_ROUTES or not names_ids):
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.append((method, path))
    return found


def fill(path: str, ids: dict[str, int]) -> str:
    def value(match: re.Match[str]) -> str:
        param = match.group(1)
        if param in WORDS:
            return WORDS[param]
        return str(ids[id_kind(path, param)])

    return PARAM.sub(value, path)


def test_every_route_with_an_id_answers_404_for_another_accounts_rows(
    services: Services, tenants: tuple[Tenant, Tenant]
) -> None:
    alpha, beta = tenants
    routes = concrete_routes(services)
    assert len(routes) >= 10, routes  # the app's id routes were found
    leaks: list[str] = []
    with signed_in(services, alpha.owner_email) as web:
        for method, template in routes:
            path = fill(template, beta.ids)
            response = web.get(path) if method == "GET" else web.post(path, {})
            if response.status_code != 404 or any(text in response.text for text in beta.private):
                leaks.append(f"{method} {path} -> {response.status_code}")
            own = fill(template, alpha.ids)
            if method == "GET" and template.startswith("/calendars/") and "{provider}" not in template:
                assert web.get(own).status_code == 200, own  # the same route works with one's own ids
    assert leaks == []
    # Nothing of Beta's changed by Alpha's attempts.
    beta_reminders = [r for r in all_reminders(services) if _calendar_of(services, r) == beta.ids["calendar"]]
    assert {r.state for r in beta_reminders} == {"scheduled"}


def test_lists_exports_and_filters_never_show_another_accounts_rows(
    services: Services, tenants: tuple[Tenant, Tenant]
) -> None:
    alpha, beta = tenants
    pages = [
        "/",
        "/calendars",
        "/appointments",
        "/appointments?when=past",
        f"/appointments?calendar={beta.ids['calendar']}",
        "/messages",
        f"/messages?calendar={beta.ids['calendar']}",
        f"/messages.csv?calendar={beta.ids['calendar']}",
        "/messages.csv",
        "/templates",
        "/numbers/blacklist",
        "/numbers/invalid",
        "/account",
        "/account/users",
        "/account/credit",
    ]
    with signed_in(services, alpha.owner_email) as web:
        answers = {page: web.get(page) for page in pages}
    for page, response in answers.items():
        assert response.status_code in (200, 404, 422), (page, response.status_code)
        for text in (*beta.private, "staff@beta.example"):
            assert text not in response.text, (page, text)


def test_every_form_refuses_a_request_without_the_sessions_csrf_token(
    services: Services, tenants: tuple[Tenant, Tenant]
) -> None:
    alpha, _beta = tenants
    unsafe = [(m, p) for m, p in concrete_routes(services, with_ids=False) if m != "GET"]
    assert len(unsafe) >= 15, unsafe
    accepted: list[str] = []
    with signed_in(services, alpha.owner_email) as web:
        for method, template in unsafe:
            path = fill(template, alpha.ids)
            for token in (None, "f" * 64):
                form = {} if token is None else {"csrf": token}
                response = web.http.request(method, path, data=form)
                if response.status_code != 403 or "The form expired" not in response.text:
                    accepted.append(f"{method} {path} csrf={token} -> {response.status_code}")
            json_call = web.http.request(method, path, json={}, headers={"X-CSRF-Token": "f" * 64})
            if json_call.status_code != 403:
                accepted.append(f"{method} {path} (json, forged header) -> {json_call.status_code}")
    assert accepted == []


def production(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "env": "production",
            "secret_key": SecretStr("s" * 40),
            "public_url": "https://reminders.example",
        }
    )


@pytest.mark.parametrize("path", ["/login", "/static/app.css", "/healthz", "/no-such-page"])
def test_production_answers_carry_hsts(services: Services, path: str) -> None:
    services.settings = production(services.settings)
    with app_client(services) as web:
        response = web.get(path)

    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


def test_development_answers_carry_no_hsts(services: Services) -> None:
    # HSTS over a plain-http development server would make browsers refuse it for a year.
    with app_client(services) as web:
        response = web.get("/login")

    assert "strict-transport-security" not in response.headers
