"""The CSV and Excel writers of the message log, without HTTP or a database."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]

from reminders.reports.masking import mask_digits
from reminders.reports.message_export import (
    COLUMNS,
    ExportRow,
    export_rows,
    filename,
    headers,
    safe_cell,
    write_csv,
    write_xlsx,
)
from reminders.reports.message_log import ATTEMPT, REMINDER, LogRow
from reminders.web.i18n import gettext_for

AT = datetime(2026, 7, 1, 8, 30, tzinfo=UTC)


def log_row(**overrides: object) -> LogRow:
    values: dict[str, object] = {
        "kind": ATTEMPT,
        "row_id": 1,
        "at": AT,
        "calendar_id": 1,
        "calendar_name": "Praxis Zürich",
        "appointment_id": 1,
        "appointment_title": "Kontrolle Jürg 079 123 45 67",
        "recipient": "+41791234567",
        "sender": "PraxisSonne",
        "body": "Erinnerung: Ihr Termin am Mittwoch um 10:30 Uhr.",
        "encoding": "gsm7",
        "segments": 1,
        "state": "sent",
        "reason": None,
        "error": None,
        "cost": 1,
    }
    values.update(overrides)
    return LogRow(**values)  # type: ignore[arg-type]


def english(message: str) -> str:
    return message


def export(*rows: LogRow, full: bool = True, translate: object = english) -> list[ExportRow]:
    return list(export_rows(rows, zone="Europe/Zurich", translate=translate, full_numbers=full))  # type: ignore[arg-type]


def read_csv(chunks: list[bytes], delimiter: str = ",") -> list[list[str]]:
    data = b"".join(chunks)
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+41791234567", "'+41791234567"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("Kontrolle = gut", "Kontrolle = gut"),
        ("", ""),
    ],
)
def test_cells_that_a_spreadsheet_would_run_get_an_apostrophe(value: str, expected: str) -> None:
    assert safe_cell(value) == expected


def test_owners_get_full_numbers_and_staff_masked_ones() -> None:
    (full,) = export(log_row(), full=True)
    (masked,) = export(log_row(), full=False)

    assert (full.recipient, full.appointment) == ("+41791234567", "Kontrolle Jürg 079 123 45 67")
    assert (masked.recipient, masked.appointment) == ("+41•••••••67", "Kontrolle Jürg ••• ••• •• 67")


def test_times_are_in_the_account_s_zone_and_words_translated() -> None:
    skipped = log_row(
        kind=REMINDER, state="skipped", reason="no_credit", recipient=None, sender=None, cost=0, encoding=None
    )

    (row,) = export(skipped, translate=lambda message: gettext_for("de", message))

    assert row.at.isoformat() == "2026-07-01T10:30:00+02:00"
    assert row.recipient == ""
    assert row.sender == ""
    assert row.encoding == ""
    assert row.state == "Übersprungen"
    assert row.error == "Es war nicht genug SMS-Guthaben vorhanden."


def test_the_csv_has_a_bom_a_header_and_inert_cells() -> None:
    rows = export(
        log_row(appointment_title='=HYPERLINK("http://evil.example")', error="-1 credits?"),
        log_row(row_id=2, state="failed", error="21211 invalid 'To' number", cost=0),
    )

    table = read_csv(list(write_csv(headers(english, "Europe/Zurich"), rows)))

    assert table[0][0] == "Date and time (Europe/Zurich)"
    assert table[0][1:] == list(COLUMNS[1:])
    first = table[1]
    assert first[0] == "2026-07-01T10:30:00+02:00"
    assert first[2] == '\'=HYPERLINK("http://evil.example")'
    assert first[3] == "'+41791234567"
    assert first[1] == "Praxis Zürich"
    assert (first[6], first[7], first[8], first[9], first[10]) == ("GSM-7", "1", "1", "Sent", "'-1 credits?")
    assert table[2][8:] == ["0", "Failed", "21211 invalid 'To' number"]


def test_german_csv_uses_semicolons_and_keeps_umlauts() -> None:
    rows = export(log_row(body="Grüezi; bis Mittwoch"), translate=lambda message: gettext_for("de", message))
    header = headers(lambda message: gettext_for("de", message), "Europe/Zurich")

    table = read_csv(list(write_csv(header, rows, delimiter=";")), delimiter=";")

    assert table[0][0] == "Datum und Uhrzeit (Europe/Zurich)"
    assert table[1][5] == "Grüezi; bis Mittwoch"
    assert table[1][9] == "Gesendet"


def test_a_long_csv_is_written_in_chunks() -> None:
    rows = export(*(log_row(row_id=i) for i in range(1200)))

    chunks = list(write_csv(headers(english, "UTC"), rows))

    assert len(chunks) == 3  # the header with the first 500 rows, 500, the last 200
    assert len(read_csv(chunks)) == 1201


def test_the_workbook_holds_typed_cells_and_never_a_formula() -> None:
    rows = export(
        log_row(appointment_title="=1+1", body="Termin\x07 mit Glocke", segments=2, cost=2, encoding="ucs2"),
    )

    book = load_workbook(io.BytesIO(write_xlsx(headers(english, "Europe/Zurich"), rows, sheet="Messages")))

    sheet = book["Messages"]
    header, row = list(sheet.iter_rows())
    assert [cell.value for cell in header] == ["Date and time (Europe/Zurich)", *COLUMNS[1:]]
    # Local wall time without a zone (Excel has none); the header names the zone.
    assert row[0].value.isoformat() == "2026-07-01T10:30:00"
    assert (row[2].value, row[2].data_type) == ("=1+1", "s")
    assert (row[3].value, row[3].data_type) == ("+41791234567", "s")
    assert row[5].value == "Termin mit Glocke"  # a control character XML cannot carry is dropped
    assert (row[6].value, row[7].value, row[8].value) == ("UCS-2", 2, 2)
    assert sheet.freeze_panes == "A2"


def test_an_empty_log_is_still_a_valid_file() -> None:
    book = load_workbook(io.BytesIO(write_xlsx(["A"], [])))
    assert [[cell.value for cell in row] for row in book.active.iter_rows()] == [["A"]]
    assert read_csv(list(write_csv(["A"], []))) == [["A"]]


def test_download_names_carry_the_date() -> None:
    assert filename("messages", date(2026, 11, 24), "xlsx") == "messages-2026-11-24.xlsx"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Anna 079 123 45 67", "Anna ••• ••• •• 67"),
        ("+41 79 123 45 67 bitte", "+•• •• ••• •• 67 bitte"),
        ("Termin am 25.11.2026 um 14:30", "Termin am 25.11.2026 um 14:30"),
        ("PLZ 8001, CHF 120.00", "PLZ 8001, CHF 120.00"),
        ("", ""),
    ],
)
def test_long_digit_runs_in_free_text_are_masked(text: str, expected: str) -> None:
    assert mask_digits(text) == expected
