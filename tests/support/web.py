"""Signed-in HTTP clients for page tests: real cookies, real CSRF tokens, real uvicorn."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import Any, cast

import httpx
from sqlalchemy.orm import Session

from connectors.mail import ConsoleMailer, OutgoingMail
from reminders.accounts.passwords import hash_password
from reminders.bootstrap import Services
from reminders.models import Account, User
from reminders.web.app import create_app
from tests.support.server import live_server

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def make_user(
    session: Session,
    account: Account,
    *,
    email: str | None = None,
    role: str = "owner",
    password: str = PASSWORD,
    language: str = "en",
    confirmed_at: datetime | None = None,
) -> User:
    """A user of `account` who can sign in with `password` (confirmed unless `confirmed_at` is None)."""
    user = User(
        account_id=account.id,
        email=email or f"{role}-{account.id}@example.com",
        name=role.title(),
        password_hash=_hashed(password),
        role=role,
        language=language,
        email_confirmed_at=confirmed_at or account.created_at,
    )
    session.add(user)
    session.flush()
    return user


@cache
def _hashed(password: str) -> str:
    # argon2 takes ~0.1 s by design; one hash per password and test run is enough for tests.
    return hash_password(password)


class WebClient:
    """An httpx client on the app that sends the session's CSRF token with every form."""

    def __init__(self, client: httpx.Client) -> None:
        self.http = client

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params or None)

    def csrf(self) -> str:
        """This session's CSRF token, as the pages embed it."""
        found = _CSRF.search(self.http.get("/login").text) or _CSRF.search(self.http.get("/").text)
        assert found, "no CSRF token on the page"
        return found.group(1)

    def post(self, path: str, data: Mapping[str, Any] | None = None, *, csrf: bool = True) -> httpx.Response:
        """Submit a form (with the CSRF token unless `csrf=False`)."""
        form: dict[str, Any] = dict(data or {})
        if csrf:
            form.setdefault("csrf", self.csrf())
        return self.http.post(path, data=form)

    def post_json(self, path: str, payload: Any) -> httpx.Response:
        """A fetch() from a page: JSON with the token in the X-CSRF-Token header."""
        return self.http.post(path, json=payload, headers={"X-CSRF-Token": self.csrf()})

    def every_page(self, path: str, item: str) -> list[str]:
        """What `item` (a regex with one group) matches on a list page and every page after it."""
        seen: list[str] = []
        page = self.get(path)
        while True:
            seen += re.findall(item, page.text)
            found = re.search(r'href="([^"]+)" rel="next"', page.text)
            if not found:
                return seen
            page = self.http.get(html.unescape(found.group(1)))

    def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        response = self.post("/login", {"email": email, "password": password})
        assert response.status_code == 303, response.text
        return response


def sign_in(client: httpx.Client, email: str, password: str = PASSWORD) -> None:
    """Sign a plain httpx client in through the login form."""
    WebClient(client).sign_in(email, password)


@contextmanager
def app_client(services: Services) -> Iterator[WebClient]:
    """An anonymous client on the app served on loopback."""
    # Tests read English unless they ask for German (anonymous pages follow Accept-Language).
    headers = {"Accept-Language": "en"}
    with (
        live_server(create_app(services)) as base,
        httpx.Client(base_url=base, timeout=30, headers=headers) as client,
    ):
        yield WebClient(client)


@contextmanager
def signed_in(services: Services, email: str, password: str = PASSWORD) -> Iterator[WebClient]:
    """A client on the app, signed in as `email`."""
    with app_client(services) as web:
        web.sign_in(email, password)
        yield web


def sent_mails(services: Services) -> list[OutgoingMail]:
    """The mails the development mailer has 'sent'."""
    return cast(ConsoleMailer, services.mailer).sent


def link_in(mail: OutgoingMail) -> str:
    """The path of the first link of this installation in a mail."""
    found = re.search(r"https?://[^/\s]+(/\S+)", mail.body)
    assert found, mail.body
    return found.group(1)
