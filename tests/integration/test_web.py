"""The first page, over HTTP."""

from __future__ import annotations

from datetime import timedelta

import httpx

from reminders.bootstrap import Services
from reminders.demo import load_demo
from reminders.web.app import create_app
from tests.support.clock import FakeClock
from tests.support.server import live_server


def test_an_empty_installation_says_how_to_start(services: Services) -> None:
    with live_server(create_app(services)) as base, httpx.Client(base_url=base) as client:
        page = client.get("/")
    assert page.status_code == 200
    assert "reminders demo" in page.text


def test_the_page_shows_upcoming_reminders_then_the_outbox(services: Services, clock: FakeClock) -> None:
    load_demo(services)
    with live_server(create_app(services)) as base, httpx.Client(base_url=base) as client:
        before = client.get("/")
        clock.advance(timedelta(minutes=5))
        services.dispatcher().run_once()
        after = client.get("/")
        health = client.get("/healthz")

    assert before.status_code == 200
    assert "Demo Salon" in before.text
    assert "Upcoming reminders" in before.text
    assert "Haarschnitt Anna Muster" in before.text
    assert "No message sent yet." in before.text
    assert "landline" in before.text
    assert "+41791112233" not in before.text  # numbers are masked
    assert "+41•••••••33" in before.text
    assert "No message sent yet." not in after.text
    assert "Demo Salon" in after.text.split("<h2>Outbox</h2>")[1]
    assert health.json() == {"status": "ok"}


def test_an_unknown_account_is_not_found(services: Services) -> None:
    load_demo(services)
    with live_server(create_app(services)) as base, httpx.Client(base_url=base) as client:
        assert client.get("/?account=999").status_code == 404
