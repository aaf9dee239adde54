"""Logs carry origins, never a feed's secret path, a Graph token or a client's phone number."""

from __future__ import annotations

import logging
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from connectors.mail import OutgoingMail
from connectors.sms.console import ConsoleGateway
from reminders.bootstrap import Services, build_mailer, build_services
from reminders.calendars.service import sync_one
from reminders.security.log_redaction import redact, redact_path, redact_record
from reminders.settings import Settings
from tests.support.clock import FakeClock
from tests.support.factories import make_account, make_calendar
from tests.support.http_feed import FeedState, feed_server

SECRET = "private-3f9a8c1d2e7b4a6f90c1"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            'HTTP Request: GET https://calendar.google.com/calendar/ical/x/private-ab12/basic.ics "200 OK"',
            'HTTP Request: GET https://calendar.google.com/… "200 OK"',
        ),
        (
            "GET https://graph.microsoft.com/v1.0/me/calendarView/delta?$deltatoken=abc&$skiptoken=d",
            "GET https://graph.microsoft.com/…",
        ),
        ("webcal://user:secret@feeds.example/cal.ics", "webcal://feeds.example/…"),
        ("origin only: https://feeds.example:8443/", "origin only: https://feeds.example:8443"),
        ("SMS to +41791234567 for calendar 12", "SMS to +•••••••••67 for calendar 12"),
        ("number 079 123 45 67.", "number ••• ••• •• 67."),
        ("calendar=12 reminder=3456 at 2026-12-03 14:00", "calendar=12 reminder=3456 at 2026-12-03 14:00"),
    ],
)
def test_urls_become_origins_and_numbers_are_masked(line: str, expected: str) -> None:
    assert redact(line) == expected


def test_access_log_paths_lose_tokens_and_queries() -> None:
    assert redact_path("/confirm/Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5") == "/confirm/…"
    assert redact_path("/oauth/google/callback?state=abc&code=def") == "/oauth/google/callback"
    assert redact_path("/calendars/12/rules") == "/calendars/12/rules"


def test_an_exception_text_is_redacted_too() -> None:
    try:
        raise RuntimeError(f"GET https://feeds.example/{SECRET}/cal.ics failed")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    redact_record(record)

    assert record.exc_text is not None
    assert SECRET not in logging.Formatter().format(record)
    assert "https://feeds.example/…" in record.exc_text


def test_a_feed_sync_logs_no_secret_path(
    database_url: str, tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        env="test", database_url=database_url, data_dir=tmp_path, ics_allow_private_networks=True
    )
    services = build_services(settings, gateway=ConsoleGateway(quiet=True), clock=clock)
    start = (clock() + timedelta(days=2)).strftime("%Y%m%dT%H%M%SZ")
    state = FeedState(
        body=(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:a\r\n"
            f"DTSTART:{start}\r\nDTEND:{start}\r\nSUMMARY:Schnitt\r\nLOCATION:079 123 45 67\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n"
        ).encode()
    )
    try:
        with feed_server(state) as url:
            secret_url = url.replace("/calendar.ics", f"/{SECRET}/basic.ics")
            with services.factory.begin() as session:
                calendar_id = make_calendar(session, make_account(session), external_id=secret_url).id
            with caplog.at_level(logging.DEBUG):
                report = sync_one(services, calendar_id)
                state.status = 500
                failed = sync_one(services, calendar_id)
    finally:
        services.close()

    assert (report.error, report.created) == (None, 1)
    assert failed.error is not None
    assert caplog.records  # httpx and httpcore did log the requests
    assert SECRET not in caplog.text
    assert "079 123 45 67" not in caplog.text
    assert all(SECRET not in r.getMessage() for r in caplog.records)


def test_the_development_mailer_prints_whole_links_while_logs_are_redacted(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    link = f"http://127.0.0.1:8000/confirm/{SECRET}"
    services.mailer.send(OutgoingMail(to="owner@salon.example", subject="Confirm", body=f"Open {link}"))

    assert link in capsys.readouterr().err  # the developer's inbox is the console


def test_without_a_relay_production_prints_no_mail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(
        env="production",
        secret_key=SecretStr("x" * 40),
        public_url="https://reminders.example",
        database_url=f"sqlite:///{tmp_path / 'r.db'}",
    )
    mailer = build_mailer(settings)
    mailer.send(OutgoingMail(to="owner@salon.example", subject="Confirm", body=f"Open /confirm/{SECRET}"))

    assert SECRET not in capsys.readouterr().err
