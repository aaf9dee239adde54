"""The calendar settings page over HTTP: validation next to each field, rules that re-plan,
quiet hours of the calendar, per-language templates used at dispatch, and tenant isolation."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from connectors.calendars.memory import InMemoryCalendar
from connectors.sms.console import ConsoleGateway
from reminders.bootstrap import Services
from reminders.calendars.configure import save_template
from reminders.calendars.sync import sync_connection
from reminders.models import Account, CalendarConnection, CalendarTemplate, ReminderRuleRow
from reminders.reasons import CancelReason, ReminderState
from tests.support.clock import FakeClock
from tests.support.factories import event, make_account, make_calendar
from tests.support.reading import all_reminders
from tests.support.web import make_user, signed_in

VALID = {
    "enabled": "1",
    "phone_1": "title",
    "phone_2": "location",
    "phone_3": "",
    "quiet_start": "22:00",
    "quiet_end": "07:00",
    "allow_late_send": "1",
    "sender_name": "Salon Bella",
    "language": "fr",
    "template_de": "",
    "template_fr": "",
    "template_it": "",
    "template_en": "",
}


@dataclass
class Salon:
    account_id: int
    calendar_id: int
    staff: str
    other_calendar_id: int
    other_rule_id: int
    source: InMemoryCalendar


@pytest.fixture
def salon(services: Services, clock: FakeClock) -> Salon:
    with services.factory.begin() as session:
        account = make_account(session, name="Salon Bella", credit_balance=20, now=clock())
        calendar = make_calendar(session, account, rules=((24, "hours"),), name="Stühle")
        calendar.last_sync_error = "The feed answered 500."
        calendar.last_sync_error_at = clock()
        make_user(session, account)
        staff = make_user(session, account, role="staff").email
        other = make_account(session, name="Other")
        other_calendar = make_calendar(session, other, external_id="memory://other", name="Fremd")
        other_rule = session.scalars(
            select(ReminderRuleRow).where(ReminderRuleRow.calendar_id == other_calendar.id)
        ).first()
        assert other_rule is not None
        return Salon(account.id, calendar.id, staff, other_calendar.id, other_rule.id, InMemoryCalendar())


def sync(services: Services, salon: Salon, *events: object) -> None:
    for e in events:
        salon.source.put(e)  # type: ignore[arg-type]
    sync_connection(services.factory, salon.calendar_id, salon.source, now=services.clock(), horizon_days=60)


def calendar(services: Services, salon: Salon) -> CalendarConnection:
    with services.factory() as session:
        return session.get_one(CalendarConnection, salon.calendar_id)


def scheduled_due(services: Services) -> list[datetime]:
    return sorted(
        r.due_at for r in all_reminders(services) if r.state == ReminderState.SCHEDULED and r.due_at
    )


def test_the_page_shows_the_calendar_its_state_and_its_rules(services: Services, salon: Salon) -> None:
    with signed_in(services, salon.staff) as web:
        page = web.get(f"/calendars/{salon.calendar_id}")

    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "<h1>Stühle</h1>" in text
    assert "ICS" in text
    assert "The feed answered 500." in text
    assert f'href="/calendars/{salon.calendar_id}/disconnect"' in text
    assert "24 hours before" in text
    assert f'href="/calendars/{salon.calendar_id}/rules/' in text


def test_staff_saves_the_settings(services: Services, salon: Salon) -> None:
    with services.factory.begin() as session:
        french = save_template(
            session, salon.account_id, name="Court", language="fr", body="RDV {date}", now=services.clock()
        )
        french_id = french.id
    with signed_in(services, salon.staff) as web:
        saved = web.post(f"/calendars/{salon.calendar_id}", {**VALID, "template_fr": str(french_id)})
        again = web.get(f"/calendars/{salon.calendar_id}")

    assert saved.status_code == 303
    assert saved.headers["location"] == f"/calendars/{salon.calendar_id}?notice=saved"
    stored = calendar(services, salon)
    assert stored.enabled
    assert stored.phone_fields == ["title", "location"]
    assert (stored.quiet_start, stored.quiet_end) == (time(22, 0), time(7, 0))
    assert stored.allow_late_send
    assert (stored.sender_name, stored.language) == ("Salon Bella", "fr")
    assert stored.cursor is None  # the numbers are read again with the new fields
    assert stored.next_sync_at == services.clock()
    with services.factory() as session:
        rows = session.scalars(
            select(CalendarTemplate).where(CalendarTemplate.calendar_id == salon.calendar_id)
        )
        assert [(r.language, r.template_id) for r in rows] == [("fr", french_id)]
    assert 'value="Salon Bella"' in again.text


def test_switching_reminders_off_and_back_to_the_defaults(services: Services, salon: Salon) -> None:
    defaults = {**VALID, "quiet_start": "", "quiet_end": "", "sender_name": "", "language": ""}
    del defaults["enabled"], defaults["allow_late_send"]
    with signed_in(services, salon.staff) as web:
        assert web.post(f"/calendars/{salon.calendar_id}", defaults).status_code == 303

    stored = calendar(services, salon)
    assert not stored.enabled
    assert not stored.allow_late_send
    assert (stored.quiet_start, stored.quiet_end, stored.sender_name, stored.language) == (None,) * 4


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"sender_name": "Dr. Müller"}, "sender_name", "Use only the letters A–Z, digits and spaces"),
        ({"sender_name": "Salon Bella Roma"}, "sender_name", "Use at most 11 characters."),
        ({"sender_name": "0791234567"}, "sender_name", "Use at least one letter"),
        ({"quiet_start": "25:00"}, "quiet_start", "Enter a time such as 21:00."),
        ({"quiet_end": ""}, "quiet_end", "Enter both times"),
        ({"quiet_start": "07:00", "quiet_end": "7.00"}, "quiet_end", "must end at another time"),
        ({"phone_1": "", "phone_2": ""}, "phone_1", "Choose at least one field"),
        ({"phone_2": "title"}, "phone_2", "already chosen above"),
        ({"phone_3": "notes"}, "phone_3", "Choose one of the listed fields."),
        ({"language": "es"}, "language", "Choose one of the listed languages."),
        ({"template_de": "999"}, "template_de", "Choose one of the listed templates."),
    ],
)
def test_each_error_is_shown_next_to_its_field_with_what_was_typed(
    services: Services, salon: Salon, changes: dict[str, str], field: str, message: str
) -> None:
    form = {**VALID, **changes}
    with signed_in(services, salon.staff) as web:
        page = web.post(f"/calendars/{salon.calendar_id}", form)

    assert page.status_code == 422
    text = html.unescape(page.text)
    error = text.split(f'id="e-{field}"', 1)[1].split("</small>", 1)[0]
    assert message in error
    assert f'aria-describedby="e-{field}"' in text
    for name in ("sender_name", "quiet_start", "quiet_end"):
        assert f'name="{name}" type="text" value="{form[name]}"' in text
    assert calendar(services, salon).sender_name is None  # nothing was stored


def test_a_template_of_another_language_cannot_be_chosen(services: Services, salon: Salon) -> None:
    with services.factory.begin() as session:
        german = save_template(
            session, salon.account_id, name="Kurz", language="de", body="{date}", now=services.clock()
        )
        german_id = german.id
    with signed_in(services, salon.staff) as web:
        page = web.post(f"/calendars/{salon.calendar_id}", {**VALID, "template_fr": str(german_id)})

    assert page.status_code == 422
    assert 'id="e-template_fr"' in page.text


def test_adding_and_removing_a_rule_replans_the_reminders(
    services: Services, salon: Salon, clock: FakeClock
) -> None:
    start = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    sync(services, salon, event("a", start))
    assert scheduled_due(services) == [start - timedelta(hours=24)]

    with signed_in(services, salon.staff) as web:
        added = web.post(
            f"/calendars/{salon.calendar_id}/rules",
            {"kind": "before", "rule_amount": "90", "rule_unit": "minutes"},
        )
        evening = web.post(
            f"/calendars/{salon.calendar_id}/rules",
            {"kind": "day_before_at", "rule_days": "2", "rule_at": "18:00"},
        )
        assert scheduled_due(services) == [
            datetime(2026, 11, 25, 17, 0, tzinfo=UTC),  # 18:00 in Zurich, two days before
            start - timedelta(hours=24),
            start - timedelta(minutes=90),
        ]
        page = web.get(f"/calendars/{salon.calendar_id}")
        with services.factory() as session:
            rule_id = session.scalars(
                select(ReminderRuleRow.id).where(
                    ReminderRuleRow.calendar_id == salon.calendar_id, ReminderRuleRow.amount == 90
                )
            ).one()
        confirm = web.get(f"/calendars/{salon.calendar_id}/rules/{rule_id}/remove")
        removed = web.post(f"/calendars/{salon.calendar_id}/rules/{rule_id}/remove")
        gone = web.get(f"/calendars/{salon.calendar_id}/rules/{rule_id}/remove")

    assert (added.status_code, evening.status_code, removed.status_code) == (303, 303, 303)
    assert "90 minutes before" in page.text
    assert "2 days before at 18:00" in page.text
    assert confirm.status_code == 200
    assert "90 minutes before" in html.unescape(confirm.text)
    assert gone.status_code == 404
    assert scheduled_due(services) == [datetime(2026, 11, 25, 17, 0, tzinfo=UTC), start - timedelta(hours=24)]
    (cancelled,) = [r for r in all_reminders(services) if r.state == ReminderState.CANCELLED]
    assert (cancelled.rule_id, cancelled.reason) == (rule_id, CancelReason.RULE_REMOVED)


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        (
            {"kind": "before", "rule_amount": "zwei", "rule_unit": "hours"},
            "rule_amount",
            "Enter a whole number",
        ),
        ({"kind": "before", "rule_amount": "0", "rule_unit": "hours"}, "rule_amount", "at least 1"),
        ({"kind": "before", "rule_amount": "400", "rule_unit": "days"}, "rule_amount", "at most 365 days"),
        ({"kind": "before", "rule_amount": "24", "rule_unit": "hours"}, "rule_amount", "already has this"),
        ({"kind": "before", "rule_amount": "2", "rule_unit": "weeks"}, "rule_unit", "minutes, hours or days"),
        (
            {"kind": "day_before_at", "rule_days": "1", "rule_at": "18:75"},
            "rule_at",
            "Enter a time such as 18:00",
        ),
        ({"kind": "day_before_at", "rule_days": "9", "rule_at": "18:00"}, "rule_days", "listed days"),
    ],
)
def test_a_rule_that_cannot_be_added_says_why_next_to_its_field(
    services: Services, salon: Salon, form: dict[str, str], field: str, message: str
) -> None:
    with signed_in(services, salon.staff) as web:
        page = web.post(f"/calendars/{salon.calendar_id}/rules", form)

    assert page.status_code == 422
    text = html.unescape(page.text)
    assert message in text.split(f'id="e-{field}"', 1)[1].split("</small>", 1)[0]
    typed = form.get("rule_amount") or form["rule_at"]
    if field != "rule_unit":
        assert f'value="{typed}"' in text
    with services.factory() as session:
        assert (
            len(
                session.scalars(
                    select(ReminderRuleRow).where(ReminderRuleRow.calendar_id == salon.calendar_id)
                ).all()
            )
            == 1
        )


def test_the_calendars_quiet_hours_replan_its_reminders(services: Services, salon: Salon) -> None:
    # 09:00 in Zurich; 2 hours before is 07:00, inside the account's quiet hours (21:00-08:00).
    start = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    with services.factory.begin() as session:
        session.execute(
            update(ReminderRuleRow).where(ReminderRuleRow.calendar_id == salon.calendar_id).values(amount=2)
        )
    sync(services, salon, event("a", start))
    # 10 minutes before quiet hours begin at 21:00 the evening before, so it is out before them.
    assert scheduled_due(services) == [datetime(2026, 11, 26, 19, 50, tzinfo=UTC)]

    with signed_in(services, salon.staff) as web:
        form = {
            **VALID,
            "phone_1": "location",
            "phone_2": "title",
            "quiet_start": "22:00",
            "quiet_end": "06:30",
        }
        assert web.post(f"/calendars/{salon.calendar_id}", form).status_code == 303

    assert scheduled_due(services) == [start - timedelta(hours=2)]


def test_the_chosen_template_of_the_reminders_language_is_sent(
    services: Services, salon: Salon, clock: FakeClock, gateway: ConsoleGateway
) -> None:
    with services.factory.begin() as session:
        ids = {
            lang: save_template(
                session, salon.account_id, name=lang, language=lang, body=body, now=clock()
            ).id
            for lang, body in {"de": "DE {time}", "fr": "FR {time}", "it": "IT {time}"}.items()
        }
    form = {
        **VALID,
        "phone_1": "location",
        "phone_2": "title",
        "language": "",
        "quiet_start": "00:00",
        "quiet_end": "00:01",
    }
    form.update({f"template_{lang}": str(i) for lang, i in ids.items()})
    with signed_in(services, salon.staff) as web:
        assert web.post(f"/calendars/{salon.calendar_id}", form).status_code == 303
    start = clock() + timedelta(hours=24, minutes=1)
    sync(
        services,
        salon,
        event("tagged", start, title="Schnitt [it]"),
        event("french-number", start, location="+33 6 12 34 56 78"),
        event("default", start),
        event("english", start, title="Cut [en]"),
    )
    clock.advance(timedelta(minutes=1))

    services.dispatcher().run_once()

    sent = sorted((m.sms.to, m.sms.body) for m in gateway.outbox)
    assert sent == [
        ("+33612345678", "FR 10h01"),
        ("+41791234567", "DE 10:01"),
        ("+41791234567", "IT 10:01"),
        (
            "+41791234567",
            "Reminder: your appointment at Salon Bella on Wednesday 25 Nov 2026 at 10:01. "
            "Please tell us if you cannot come.",
        ),
    ]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/calendars/{other}"),
        ("post", "/calendars/{other}"),
        ("post", "/calendars/{other}/rules"),
        ("get", "/calendars/{other}/rules/{rule}/remove"),
        ("post", "/calendars/{other}/rules/{rule}/remove"),
        ("get", "/calendars/{own}/rules/{rule}/remove"),
        ("post", "/calendars/{own}/rules/{rule}/remove"),
        ("get", "/calendars/987654"),
    ],
)
def test_another_accounts_calendar_and_rules_are_not_found(
    services: Services, salon: Salon, method: str, path: str
) -> None:
    url = path.format(other=salon.other_calendar_id, own=salon.calendar_id, rule=salon.other_rule_id)
    with signed_in(services, salon.staff) as web:
        page = (
            web.get(url)
            if method == "get"
            else web.post(url, {**VALID, "kind": "before", "rule_amount": "1", "rule_unit": "hours"})
        )

    assert page.status_code == 404
    with services.factory() as session:
        other = session.get_one(CalendarConnection, salon.other_calendar_id)
        assert (other.sender_name, other.enabled) == (None, True)
        assert session.get_one(ReminderRuleRow, salon.other_rule_id).active


def test_the_page_and_its_errors_are_in_the_viewers_language(services: Services, salon: Salon) -> None:
    with services.factory.begin() as session:
        account = session.get_one(Account, salon.account_id)
        email = make_user(session, account, email="de@example.com", role="staff", language="de").email
    with signed_in(services, email) as web:
        page = web.post(f"/calendars/{salon.calendar_id}", {**VALID, "sender_name": "Salon Bella Roma"})

    assert page.status_code == 422
    assert "Einstellungen speichern" in page.text
    assert "Verwenden Sie höchstens 11 Zeichen." in page.text
    assert "24 Stunden vorher" in page.text
