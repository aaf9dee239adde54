"""The message log over HTTP: every kind of row, filters, pages, CSV and Excel downloads, isolation."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta

from openpyxl import load_workbook  # type: ignore[import-untyped]

from connectors.sms.base import OutgoingSms, SendError, SentSms
from connectors.sms.console import ConsoleGateway
from reminders.bootstrap import Services
from reminders.dispatch.service import Dispatcher
from tests.support.clock import FakeClock
from tests.support.factories import event
from tests.support.salons import Salon, make_salon, sync_events
from tests.support.web import signed_in

FORMULA = '=HYPERLINK("http://evil.example","click")'
SENT_TO = "+41791234567"
REJECTED_TO = "+41791234599"


class RejectingGateway:
    """The console gateway, except that it refuses one number for good (like Twilio's 21211)."""

    name = "rejecting"

    def __init__(self) -> None:
        self.inner = ConsoleGateway(quiet=True)

    def send(self, sms: OutgoingSms) -> SentSms:
        if sms.to == REJECTED_TO:
            raise SendError("21211 invalid 'To' number", permanent=True, provider_code="21211")
        return self.inner.send(sms)

    def lookup(self, idempotency_key: str) -> SentSms | None:
        return self.inner.lookup(idempotency_key)


def dispatch(services: Services) -> None:
    Dispatcher(services.factory, RejectingGateway(), owner="test", clock=services.clock).run_once()


def one_of_each(services: Services, clock: FakeClock) -> tuple[Salon, Salon]:
    """A salon with a sent, a failed, a skipped and a cancelled reminder; another with one sent."""
    salon, other = make_salon(services), make_salon(services, "Salon Luna")
    soon = clock() + timedelta(hours=2, minutes=1)
    sync_events(
        services,
        salon,
        event("ok", soon, title=FORMULA),
        event("bad", soon, title="Zoë Müller", location="079 123 45 99"),
        event("nonum", soon, title="Ohne Nummer", location="Praxis am See"),
        event("gone", soon + timedelta(days=3), title="Abgesagt", location="079 222 33 44"),
    )
    sync_events(services, other, event("luna", soon, title="Geheim Luna"))
    salon.source.delete("gone")
    sync_events(services, salon)
    clock.advance(timedelta(minutes=1))
    dispatch(services)
    return salon, other


def log_rows(page_text: str) -> list[str]:
    return re.findall(r'<tr data-testid="log-row">(.*?)</tr>', page_text, re.DOTALL)


def test_the_log_shows_sent_failed_skipped_and_cancelled_reminders_with_masked_numbers(
    services: Services, clock: FakeClock
) -> None:
    salon, _ = one_of_each(services, clock)

    with signed_in(services, salon.staff) as web:
        page = web.get("/messages")

    assert page.status_code == 200
    rows = log_rows(page.text)
    assert len(rows) == 4
    joined = "\n".join(rows)
    for state in ("Sent", "Failed", "Skipped", "Cancelled"):
        assert f">{state}</span>" in joined
    assert "21211 invalid &#39;To&#39; number" in joined
    assert "The appointment has no mobile number." in joined
    assert "The appointment was deleted from the calendar." in joined
    assert "+41•••••••67" in joined
    assert "+41•••••••99" in joined
    for digits in ("791234567", "791234599", "792223344"):
        assert digits not in page.text
    assert "Geheim Luna" not in page.text
    assert "1 segment" in joined
    assert "1 credit" in joined
    assert "0 credits" in joined


def test_the_state_filter_picks_one_kind(services: Services, clock: FakeClock) -> None:
    salon, _ = one_of_each(services, clock)
    expected = {
        "sent": "HYPERLINK",
        "failed": "Zoë Müller",
        "skipped": "Ohne Nummer",
        "cancelled": "Abgesagt",
    }

    with signed_in(services, salon.owner) as web:
        pages = {state: web.get("/messages", state=state) for state in expected}

    for state, title in expected.items():
        rows = log_rows(pages[state].text)
        assert len(rows) == 1, state
        assert title in html.unescape(rows[0])


def test_dates_are_whole_days_in_the_account_s_zone(services: Services, clock: FakeClock) -> None:
    salon, _ = one_of_each(services, clock)
    today = clock().date().isoformat()  # 09:01 UTC is the same day in Zurich
    tomorrow = (clock() + timedelta(days=1)).date().isoformat()

    with signed_in(services, salon.owner) as web:
        same_day = web.get("/messages", **{"from": today, "to": today})
        later = web.get("/messages", **{"from": tomorrow})
        calendar = web.get("/messages", calendar=str(salon.calendar_id), state="sent")

    # Titles, not counts: a skipped row's time is when the dispatcher decided, which the ORM's
    # `onupdate` may set from the wall clock rather than the test's clock.
    for title in ("HYPERLINK", "Zoë Müller", "Abgesagt"):
        assert title in html.unescape(same_day.text)
        assert title not in html.unescape(later.text)
    assert len(log_rows(calendar.text)) == 1


def test_bad_filters_keep_what_was_typed_and_say_what_is_wrong(services: Services, clock: FakeClock) -> None:
    salon, other = one_of_each(services, clock)

    with signed_in(services, salon.owner) as web:
        bad_date = web.get("/messages", **{"from": "24.11.2026", "to": "2026-02-30"})
        reversed_range = web.get("/messages", **{"from": "2026-11-24", "to": "2026-11-01"})
        foreign = web.get("/messages", calendar=str(other.calendar_id))
        odd_state = web.get("/messages", state="delivered-ish")
        bad_export = web.get("/messages.csv", **{"from": "yesterday"})

    assert bad_date.status_code == 422
    assert 'value="24.11.2026"' in bad_date.text
    assert 'value="2026-02-30"' in bad_date.text
    assert bad_date.text.count("Enter a date as YYYY-MM-DD, e.g. 2026-11-24.") == 2
    assert log_rows(bad_date.text) == []
    assert reversed_range.status_code == 422
    assert "The end date is before the start date." in reversed_range.text
    assert foreign.status_code == 422
    assert "Choose one of your calendars." in foreign.text
    assert "Geheim Luna" not in foreign.text
    assert odd_state.status_code == 422
    assert "Choose a state from the list." in odd_state.text
    assert bad_export.status_code == 422
    assert "text/html" in bad_export.headers["content-type"]


def test_the_log_is_cut_into_pages_newest_first(services: Services, clock: FakeClock) -> None:
    salon = make_salon(services, credit=100)
    first = clock() + timedelta(hours=2, minutes=1)
    sync_events(
        services,
        salon,
        *(event(f"e{i:02}", first + timedelta(minutes=i), title=f"T{i:02}") for i in range(60)),
    )
    for _ in range(60):
        clock.advance(timedelta(minutes=1))
        dispatch(services)

    with signed_in(services, salon.owner) as web:
        seen = web.every_page("/messages", r">(T\d{2})</a>")

    assert seen == [f"T{i:02}" for i in reversed(range(60))]


def test_the_owner_downloads_a_csv_excel_opens_safely(services: Services, clock: FakeClock) -> None:
    salon, _ = one_of_each(services, clock)

    with signed_in(services, salon.owner) as web:
        response = web.get("/messages.csv")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="messages-2026-11-24.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0][0] == "Date and time (Europe/Zurich)"
    assert table[0][1:] == [
        "Calendar", "Appointment", "Recipient", "Sender", "Text", "Encoding", "Segments",
        "Cost (credits)", "State", "Error",
    ]  # fmt: skip
    rows = {row[2]: row for row in table[1:]}
    assert set(rows) == {"'" + FORMULA, "Zoë Müller", "Ohne Nummer", "Abgesagt"}
    sent = rows["'" + FORMULA]
    assert sent[0] == "2026-11-24T10:01:00+01:00"
    assert sent[3] == "'" + SENT_TO  # the owner's own records: the full number, made inert
    assert (sent[4], sent[6], sent[7], sent[8], sent[9]) == ("Reminder", "GSM-7", "1", "1", "Sent")
    assert sent[5].startswith("Erinnerung: Ihr Termin bei Praxis Sonne")
    failed = rows["Zoë Müller"]
    assert (failed[8], failed[9], failed[10]) == ("0", "Failed", "21211 invalid 'To' number")
    assert rows["Ohne Nummer"][10] == "The appointment has no mobile number."
    assert "Geheim Luna" not in response.text


def test_staff_download_masked_numbers_in_csv_and_excel(services: Services, clock: FakeClock) -> None:
    salon, _ = one_of_each(services, clock)

    with signed_in(services, salon.staff) as web:
        as_csv = web.get("/messages.csv", state="sent")
        as_xlsx = web.get("/messages.xlsx", state="sent")

    assert "791234567" not in as_csv.content.decode("utf-8-sig")
    assert "'+41•••••••67" in as_csv.content.decode("utf-8-sig")
    assert as_xlsx.headers["content-disposition"] == 'attachment; filename="messages-2026-11-24.xlsx"'
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert len(values) == 2
    assert values[1][3] == "+41•••••••67"
    assert not any("791234567" in str(value) for row in values for value in row)


def test_the_owner_downloads_an_excel_file_with_inert_text(services: Services, clock: FakeClock) -> None:
    salon, _ = one_of_each(services, clock)

    with signed_in(services, salon.owner) as web:
        response = web.get("/messages.xlsx")

    assert response.status_code == 200
    assert response.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows())
    assert rows[0][0].value == "Date and time (Europe/Zurich)"
    by_title = {row[2].value: row for row in rows[1:]}
    assert set(by_title) == {FORMULA, "Zoë Müller", "Ohne Nummer", "Abgesagt"}
    formula = by_title[FORMULA]
    assert formula[2].data_type == "s"  # a string cell: Excel shows it, never runs it
    assert formula[3].value == SENT_TO
    assert formula[3].data_type == "s"
    assert formula[0].value.isoformat() == "2026-11-24T10:01:00"
    assert (formula[7].value, formula[8].value, formula[9].value) == (1, 1, "Sent")
    assert by_title["Zoë Müller"][10].value == "21211 invalid 'To' number"


def test_another_account_sees_none_of_these_rows(services: Services, clock: FakeClock) -> None:
    _, other = one_of_each(services, clock)

    with signed_in(services, other.owner) as web:
        page = web.get("/messages")
        as_csv = web.get("/messages.csv").content.decode("utf-8-sig")
        sheet = load_workbook(io.BytesIO(web.get("/messages.xlsx").content)).active

    (row,) = log_rows(page.text)
    assert "Geheim Luna" in row
    assert "HYPERLINK" not in page.text
    assert "Zoë" not in page.text
    assert as_csv.count("\r\n") == 2
    assert "Geheim Luna" in as_csv
    assert "Zoë" not in as_csv
    assert [row[2].value for row in sheet.iter_rows(min_row=2)] == ["Geheim Luna"]
