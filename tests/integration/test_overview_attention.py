"""The overview's "Needs your attention" and "Next reminders" (issue 10, items 5, 6 and 8).

- A reminder skipped for lack of credit is named on the overview, not only in the log, and so is
  a credit too small for the reminders of the next 48 hours.
- A planned reminder that cannot go out (no mobile number, a blacklisted number) is "Blocked",
  with the reason, as on the appointment pages; numbers are masked as on every other page.
"""

from __future__ import annotations

from datetime import timedelta

from reminders.bootstrap import Services
from reminders.numbers.blocklist import add_number
from tests.support.clock import FakeClock
from tests.support.factories import event
from tests.support.salons import make_salon, sync_events
from tests.support.web import signed_in

UNPAID = "Reminders not sent for lack of SMS credit in the last 7 days: 1."
SHORT = "Reminders due in the next 48 hours: 3; SMS credit left: 2."


def test_a_reminder_skipped_for_lack_of_credit_needs_attention(services: Services, clock: FakeClock) -> None:
    salon = make_salon(services, credit=0)
    sync_events(services, salon, event("soon", clock() + timedelta(hours=2, minutes=1)))
    clock.advance(timedelta(minutes=2))
    services.dispatcher().run_once()

    with signed_in(services, salon.owner) as web:
        overview = web.get("/")

    attention = overview.text.split('<ul class="attention">')[1].split("</ul>")[0]
    assert f'<a href="/messages?state=skipped">{UNPAID}</a>' in attention
    assert "Your SMS credit is used up" in attention


def test_too_little_credit_for_the_next_48_hours_needs_attention(
    services: Services, clock: FakeClock
) -> None:
    short = make_salon(services, "Knapp", credit=2)
    enough = make_salon(services, "Genug", credit=20)
    for salon in (short, enough):
        sync_events(
            services,
            salon,
            *(event(f"e{hour}", clock() + timedelta(hours=hour)) for hour in (5, 20, 40)),
            event("later", clock() + timedelta(days=5)),  # beyond the 48 hours
        )

    with signed_in(services, short.owner) as web:
        warned = web.get("/")
    with signed_in(services, enough.owner) as web:
        calm = web.get("/")

    assert SHORT in warned.text
    assert '<a href="/account/credit">' + SHORT in warned.text
    assert "Reminders due in the next 48 hours" not in calm.text
    assert "Needs your attention" not in calm.text


def test_next_reminders_that_cannot_go_out_are_blocked_with_the_reason(
    services: Services, clock: FakeClock
) -> None:
    salon = make_salon(services)
    sync_events(
        services,
        salon,
        event("ok", clock() + timedelta(hours=5), title="Schnitt Anna 079 123 45 67"),
        event("none", clock() + timedelta(hours=6), title="Ohne Nummer", location=""),
        event("stopped", clock() + timedelta(hours=7), title="Gesperrt", location="079 555 66 77"),
    )
    with services.factory.begin() as session:
        add_number(
            session, salon.account_id, kind="blacklist", number="+41795556677", now=clock(), source="manual"
        )

    with signed_in(services, salon.owner) as web:
        overview = web.get("/")

    rows = (
        overview.text.split("<h2>Next reminders</h2>")[1]
        .split("</table>")[0]
        .split('data-testid="next-reminder"')[1:]
    )
    assert len(rows) == 3
    ok, none, stopped = rows
    assert ">Scheduled</span>" in ok
    assert "+41•••••••67" in ok
    assert "Schnitt Anna ••• ••• •• 67" in ok  # the title's number is masked too
    assert '<span class="state state-blocked">Blocked</span>' in none
    assert "No mobile number in the location, title or description." in none
    assert '<span class="state state-blocked">Blocked</span>' in stopped
    assert "The number is on your blacklist" in stopped
    for full in ("+41791234567", "079 123 45 67", "+41795556677"):
        assert full not in overview.text
    assert 'class="stacked"' in overview.text
    assert 'data-label="State"' in overview.text
