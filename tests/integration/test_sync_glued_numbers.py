"""Numbers typed against words and card numbers, from a real ICS feed through sync, dispatch and pages."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from connectors.sms.console import ConsoleGateway
from reminders.bootstrap import Services
from reminders.calendars.service import sync_one
from reminders.reasons import NoRecipientReason, ReminderState
from reminders.settings import Settings
from tests.support.clock import FakeClock
from tests.support.factories import make_account, make_calendar
from tests.support.feeds import FOOTER, HEADER, vevent
from tests.support.http_feed import FeedState, feed_server
from tests.support.reading import all_appointments, all_reminders
from tests.support.web import make_user, signed_in


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # The feed is served on loopback, which tenants' links may reach only when allowed.
    return Settings(
        env="test", database_url=database_url, data_dir=tmp_path / "data", ics_allow_private_networks=True
    )


def test_glued_numbers_get_reminders_and_a_card_number_is_no_number(
    services: Services, clock: FakeClock, gateway: ConsoleGateway
) -> None:
    start = clock() + timedelta(hours=2, minutes=1)  # its 2-hour reminder is due in a minute
    feed = "".join(
        [
            HEADER,
            vevent("name@t", start, title="Anna079 123 45 67", location="Praxis"),
            vevent("label@t", start + timedelta(days=1), title="Kontrolle", location="Tel079 667 05 15"),
            vevent("after@t", start + timedelta(days=2), title="078 903 17 44Brunner"),
            vevent("card@t", start + timedelta(days=3), location="Versichertenkarte: 80756000010012345678"),
            vevent(
                "ref@t", start + timedelta(days=4), title="Kontrolle REF2024-1234", location="8001 Zürich"
            ),
            FOOTER,
        ]
    )
    with feed_server(FeedState(body=feed.encode())) as url:
        with services.factory.begin() as session:
            account = make_account(session, credit_balance=10, now=clock())
            calendar_id = make_calendar(session, account, external_id=url, rules=((2, "hours"),)).id
            owner = make_user(session, account, email="owner@glued.example").email
        assert sync_one(services, calendar_id).error is None

    appointments = {a.external_id: a for a in all_appointments(services)}
    found = {key: (a.recipient, a.recipient_reason) for key, a in appointments.items()}
    assert found == {
        "name@t": ("+41791234567", None),
        "label@t": ("+41796670515", None),
        "after@t": ("+41789031744", None),
        "card@t": (None, NoRecipientReason.NO_NUMBER),
        "ref@t": (None, NoRecipientReason.NO_NUMBER),
    }
    scheduled = {r.appointment_id for r in all_reminders(services) if r.state == ReminderState.SCHEDULED}
    assert {appointments[key].id for key in ("name@t", "label@t", "after@t")} <= scheduled

    clock.advance(timedelta(minutes=1))
    assert sum(services.dispatcher().run_once().values()) == 1
    assert [message.sms.to for message in gateway.outbox] == ["+41791234567"]

    with signed_in(services, owner) as web:
        page = web.get(f"/appointments/{appointments['card@t'].id}")
    assert page.status_code == 200
    assert "No mobile number in the location, title or description." in page.text
    assert "not a valid phone number" not in page.text
