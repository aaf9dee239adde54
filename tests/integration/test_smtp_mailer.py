"""E-mail over real SMTP to a local relay: plain on loopback, STARTTLS, and a relay that is down."""

from __future__ import annotations

import pytest

from connectors.mail import MailError, OutgoingMail, SmtpEndpoint, SmtpMailer
from reminders.bootstrap import Services, build_services
from reminders.settings import Settings
from tests.emulators.smtp import SmtpRelay
from tests.support.server import free_port
from tests.support.web import app_client

MAIL = OutgoingMail(
    to="eva@example.com", subject="Grüezi", body="Bitte bestätigen: https://x.example/confirm/abc"
)


def test_a_mail_reaches_a_plain_loopback_relay() -> None:
    with SmtpRelay() as relay:
        SmtpMailer(SmtpEndpoint("127.0.0.1", relay.port, "reminders@example.ch", security="none")).send(MAIL)
        (received,) = relay.received

    assert received.recipients == ["eva@example.com"]
    assert received.message["Subject"] == "Grüezi"
    assert received.message["From"] == "reminders@example.ch"
    assert "https://x.example/confirm/abc" in received.body


def test_starttls_is_used_and_the_certificate_checked() -> None:
    with SmtpRelay(starttls=True) as relay:
        good = SmtpEndpoint(
            "127.0.0.1", relay.port, "r@example.ch", security="starttls", ssl_context=relay.client_context()
        )
        SmtpMailer(good).send(MAIL)
        untrusted = SmtpEndpoint("127.0.0.1", relay.port, "r@example.ch", security="starttls")
        with pytest.raises(MailError, match="did not take the mail"):
            SmtpMailer(untrusted).send(MAIL)  # the system trust store does not know the test CA
        plain = SmtpEndpoint("127.0.0.1", relay.port, "r@example.ch", security="none")
        with pytest.raises(MailError):
            SmtpMailer(plain).send(MAIL)  # the relay requires STARTTLS

        assert len(relay.received) == 1


def test_a_relay_that_is_down_is_a_clear_error() -> None:
    endpoint = SmtpEndpoint("127.0.0.1", free_port(), "r@example.ch", security="none", timeout=2)
    with pytest.raises(MailError, match=r"127\.0\.0\.1:\d+ did not take the mail"):
        SmtpMailer(endpoint).send(MAIL)


def test_signing_up_sends_the_confirmation_through_the_configured_relay(settings: Settings) -> None:
    with SmtpRelay() as relay:
        configured = settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": relay.port, "smtp_security": "none"}
        )
        services: Services = build_services(configured)
        try:
            with app_client(services) as web:
                created = web.post(
                    "/signup",
                    {"business": "Praxis", "email": "eva@example.com", "password": "a long enough password"},
                )
        finally:
            services.close()
        (received,) = relay.received

    assert created.status_code == 303
    assert "/confirm/" in received.body


def test_sign_up_still_works_when_the_relay_is_down(settings: Settings) -> None:
    configured = settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": free_port(),
            "smtp_security": "none",
            "smtp_timeout_seconds": 2,
        }
    )
    services = build_services(configured)
    try:
        with app_client(services) as web:
            created = web.post(
                "/signup",
                {"business": "Praxis", "email": "eva@example.com", "password": "a long enough password"},
            )
            answer = web.get(created.headers["location"])
    finally:
        services.close()

    assert created.status_code == 303
    assert "Check your e-mail" in answer.text  # the same answer as with a working relay
