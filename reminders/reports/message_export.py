"""The message log as CSV and Excel files: no HTTP, no database, so both writers are tested directly.

Spreadsheets are an attack surface: a calendar event titled `=HYPERLINK(...)` would become a live
formula in the business's Excel. CSV cells that start with a formula character get a leading
apostrophe; XLSX cells are written with the string type, which Excel never evaluates, so the
text stays exact there.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]

from reminders.msgid import N_
from reminders.reports.masking import mask_digits, mask_number
from reminders.reports.message_log import LogRow
from reminders.web.reminder_texts import badge, encoding_label, reason_text

# Column headers (msgids); the first gets the account's zone appended.
COLUMNS: tuple[str, ...] = (
    N_("Date and time"),
    N_("Calendar"),
    N_("Appointment"),
    N_("Recipient"),
    N_("Sender"),
    N_("Text"),
    N_("Encoding"),
    N_("Segments"),
    N_("Cost (credits)"),
    N_("State"),
    N_("Error"),
)
_WIDTHS = (20, 18, 30, 16, 12, 60, 9, 9, 9, 14, 40)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 cannot carry; a calendar may still deliver them in a title.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_EXCEL_CELL_LIMIT = 32_767
_CSV_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One line of a download, already translated and masked as the reader may see it."""

    at: datetime  # aware, in the account's zone
    calendar: str
    appointment: str
    recipient: str
    sender: str
    text: str
    encoding: str
    segments: int | None
    cost: int
    state: str
    error: str

    def cells(self) -> list[str | int | datetime | None]:
        return [
            self.at,
            self.calendar,
            self.appointment,
            self.recipient,
            self.sender,
            self.text,
            self.encoding,
            self.segments,
            self.cost,
            self.state,
            self.error,
        ]


def export_rows(
    rows: Iterable[LogRow], *, zone: str, translate: Callable[[str], str], full_numbers: bool
) -> Iterator[ExportRow]:
    """Log rows as download lines: times in `zone`, words via `translate`, numbers masked
    unless `full_numbers` (then titles are left as they are too)."""
    tz = ZoneInfo(zone)
    for row in rows:
        reason = reason_text(row.reason)
        yield ExportRow(
            at=row.at.astimezone(tz),
            calendar=row.calendar_name,
            appointment=row.appointment_title if full_numbers else mask_digits(row.appointment_title),
            recipient=(row.recipient or "") if full_numbers else _masked_or_empty(row.recipient),
            sender=row.sender or "",
            text=row.body or "",
            encoding=encoding_label(row.encoding) if row.encoding else "",
            segments=row.segments,
            cost=row.cost,
            state=translate(badge(row.state, row.reason).label),
            error=row.error or (translate(reason) if reason else ""),
        )


def headers(translate: Callable[[str], str], zone: str) -> list[str]:
    """The translated column headers; the time column names the zone its times are in."""
    names = [translate(column) for column in COLUMNS]
    names[0] = f"{names[0]} ({zone})"
    return names


def safe_cell(value: str) -> str:
    """A text cell a spreadsheet will not run as a formula (OWASP "CSV injection")."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def write_csv(header: Sequence[str], rows: Iterable[ExportRow], *, delimiter: str = ",") -> Iterator[bytes]:
    """UTF-8 CSV with a byte-order mark (so Excel reads umlauts right), yielded in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    buffer.write(_CSV_BOM)
    writer.writerow([safe_cell(name) for name in header])
    for count, row in enumerate(rows, start=1):
        writer.writerow([_csv_value(value) for value in row.cells()])
        if count % 500 == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def write_xlsx(header: Sequence[str], rows: Iterable[ExportRow], *, sheet: str = "Messages") -> bytes:
    """An Excel workbook with one sheet, written in openpyxl's streaming (write-only) mode."""
    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet[:31])
    ws.freeze_panes = "A2"
    for index, width in enumerate(_WIDTHS):
        ws.column_dimensions[chr(ord("A") + index)].width = width
    ws.append([_text_cell(ws, name) for name in header])
    for row in rows:
        ws.append([_xlsx_value(ws, value) for value in row.cells()])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def filename(stem: str, today: date, extension: str) -> str:
    """A dated download name, e.g. `messages-2026-11-24.csv`."""
    return f"{stem}-{today.isoformat()}.{extension}"


def _masked_or_empty(number: str | None) -> str:
    return mask_number(number) if number else ""


def _csv_value(value: str | int | datetime | None) -> str | int:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, int):
        return value
    return safe_cell(value)


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


def _text_cell(ws: object, value: str) -> WriteOnlyCell:
    # A string-typed cell is never evaluated, even when it starts with "=".
    cell = WriteOnlyCell(ws, value=_ILLEGAL_XML.sub("", value)[:_EXCEL_CELL_LIMIT])
    cell.data_type = "s"
    return cell


def _xlsx_value(ws: object, value: str | int | datetime | None) -> object:
    if isinstance(value, datetime):
        # Excel has no time zones: the local wall time, with the zone named in the header.
        return value.replace(tzinfo=None)
    if isinstance(value, str):
        return _text_cell(ws, value)
    return value
