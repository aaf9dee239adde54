"""Rules and templates are validated before they are stored (both engines)."""

from __future__ import annotations

from datetime import time

import pytest

from reminders.bootstrap import Services
from reminders.calendars.configure import add_rule, save_template
from reminders.messaging.templates import TemplateError
from reminders.models import MessageTemplate
from tests.support.clock import FakeClock
from tests.support.factories import make_account, make_calendar


def test_rules_are_parsed_and_stored(services: Services) -> None:
    with services.factory.begin() as session:
        account = make_account(session)
        calendar = make_calendar(session, account, rules=())
        offset = add_rule(session, calendar.id, "90m")
        evening = add_rule(session, calendar.id, "day-before@18:00")
        with pytest.raises(ValueError, match="18:75 is not a time of day"):
            add_rule(session, calendar.id, "day-before@18:75")

    assert (offset.kind, offset.amount, offset.unit) == ("before", 90, "minutes")
    assert (evening.kind, evening.at_time, evening.days_before) == ("day_before_at", time(18, 0), 1)


def test_a_template_with_an_unknown_placeholder_is_refused_with_a_clear_message(
    services: Services, clock: FakeClock
) -> None:
    with services.factory.begin() as session:
        account = make_account(session)
        with pytest.raises(TemplateError, match=r"Unknown placeholder \{datum\}.*\{date\}"):
            save_template(session, account.id, name="x", language="de", body="Termin am {datum}", now=clock())
        saved = save_template(
            session,
            account.id,
            name=" Standard ",
            language="de",
            body="Termin am {date} um {time}",
            now=clock(),
        )
        renamed = save_template(
            session,
            account.id,
            name="Kurz",
            language="de",
            body="{date} {time}",
            now=clock(),
            template_id=saved.id,
        )

    assert renamed.id == saved.id
    with services.factory.begin() as session:
        stored = session.get_one(MessageTemplate, saved.id)
        assert (stored.name, stored.body) == ("Kurz", "{date} {time}")
