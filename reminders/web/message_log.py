"""The message log: every SMS handed to the gateway and every reminder that ended without one,
with filters and downloads as CSV and Excel."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response, StreamingResponse

from reminders.reports import message_export
from reminders.reports.masking import mask_digits
from reminders.reports.message_export import ExportRow
from reminders.reports.message_log import LOG_STATES, LogCursor, LogFilter, LogRow, iter_log, log_page
from reminders.web import queries
from reminders.web.context import Viewer, Web
from reminders.web.i18n import N_, gettext_for
from reminders.web.list_filters import chosen_calendar, list_link
from reminders.web.reminder_texts import badge, encoding_label, reason_text, state_text

PAGE_SIZE = 50
# A download holds at most this many rows: enough for a year of a busy practice, small enough
# to build in memory (Excel) without hurting the other requests of the process.
EXPORT_CAP = 100_000
_FIRST_YEAR, _LAST_YEAR = 2000, 2100
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Excel in German uses ";" as list separator and opens a comma file as one column.
_CSV_DELIMITERS = {"de": ";"}


@dataclass(frozen=True, slots=True)
class LogQuery:
    """The log's query string, validated."""

    where: LogFilter
    after: LogCursor | None
    form: dict[str, str]
    errors: dict[str, str]


def _parse_day(text: str) -> tuple[date | None, str | None]:
    """A date typed as YYYY-MM-DD (what date inputs send), or the msgid of what is wrong."""
    if not text:
        return None, None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None, N_("Enter a date as YYYY-MM-DD, e.g. 2026-11-24.")
    if not _FIRST_YEAR <= day.year <= _LAST_YEAR:
        return None, N_("Enter a date between 2000 and 2100.")
    return day, None


def parse_log_query(params: Mapping[str, str], calendar_ids: set[int], zone: str) -> LogQuery:
    """Read and check the filters; dates are whole days in the account's zone."""
    form = {key: params.get(key, "").strip() for key in ("calendar", "from", "to", "state")}
    errors: dict[str, str] = {}
    calendar_id = chosen_calendar(form["calendar"], calendar_ids, errors)
    first, problem = _parse_day(form["from"])
    if problem:
        errors["from"] = problem
    last, problem = _parse_day(form["to"])
    if problem:
        errors["to"] = problem
    if first and last and last < first:
        errors["to"] = N_("The end date is before the start date.")
    if form["state"] and form["state"] not in LOG_STATES:
        errors["state"] = N_("Choose a state from the list.")
    tz = ZoneInfo(zone)
    where = LogFilter(
        calendar_id=calendar_id,
        start=datetime.combine(first, time(0), tzinfo=tz) if first else None,
        # "to" is inclusive for people: everything before the next day's midnight.
        end=datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz) if last else None,
        state=form["state"] if form["state"] in LOG_STATES else "",
    )
    return LogQuery(where, LogCursor.decode(params.get("after", "")), form, errors)


def _query_string(form: Mapping[str, str], **changes: str) -> str:
    return list_link("", form, **changes)


def _page_rows(rows: list[LogRow]) -> list[dict[str, Any]]:
    """What the page shows of each row (recipients and titles masked, words as msgids)."""
    return [
        {
            "row": row,
            "title": mask_digits(row.appointment_title) or "–",
            "state": badge(row.state, row.reason).label,
            "reason": reason_text(row.reason),
            "encoding": encoding_label(row.encoding),
        }
        for row in rows
    ]


def message_log_router(web: Web) -> APIRouter:
    """The message log page and its downloads (owners and staff)."""
    router = APIRouter()
    services = web.services

    def read_query(request: Request, viewer: Viewer) -> tuple[LogQuery, list[tuple[str, str]]]:
        with services.reader() as db:
            calendars = queries.calendars(db, viewer.account_id)
        query = parse_log_query(request.query_params, {c.id for c in calendars}, viewer.timezone)
        return query, [(str(c.id), c.name) for c in calendars]

    def page(request: Request, viewer: Viewer, query: LogQuery, calendars: list[tuple[str, str]]) -> Response:
        log = None
        if not query.errors:
            with services.reader() as db:
                log = log_page(db, viewer.account_id, query.where, after=query.after, limit=PAGE_SIZE)
        context = {
            "calendars": calendars,
            "states": [(state, gettext_for(viewer.language, state_text(state))) for state in LOG_STATES],
            "form": query.form,
            "errors": query.errors,
            "rows": _page_rows(log.rows) if log else [],
            "query": _query_string(query.form),
            "first_url": "/messages" + _query_string(query.form) if query.after else None,
            "next_url": (
                "/messages" + _query_string(query.form, after=log.next.encode()) if log and log.next else None
            ),
            "export_cap": format_decimal(EXPORT_CAP, locale=viewer.language),
        }
        status = 422 if query.errors else 200
        return web.page(request, "messages/list.html", context, viewer=viewer, status_code=status)

    def download_rows(viewer: Viewer, query: LogQuery) -> tuple[list[str], Iterator[ExportRow]]:
        def translate(message: str) -> str:
            return gettext_for(viewer.language, message)

        rows = iter_log(services.reader, viewer.account_id, query.where, cap=EXPORT_CAP)
        # Owners get the numbers in full (their own records, e.g. to answer a client); staff do not.
        export = message_export.export_rows(
            rows, zone=viewer.timezone, translate=translate, full_numbers=viewer.is_owner
        )
        return message_export.headers(translate, viewer.timezone), export

    def disposition(viewer: Viewer, extension: str) -> dict[str, str]:
        today = services.clock().astimezone(ZoneInfo(viewer.timezone)).date()
        name = message_export.filename("messages", today, extension)
        return {"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"}

    @router.get("/messages")
    def message_list(request: Request, viewer: Annotated[Viewer, Depends(web.viewer)]) -> Response:
        query, calendars = read_query(request, viewer)
        return page(request, viewer, query, calendars)

    @router.get("/messages.csv")
    def message_csv(request: Request, viewer: Annotated[Viewer, Depends(web.viewer)]) -> Response:
        query, calendars = read_query(request, viewer)
        if query.errors:
            return page(request, viewer, query, calendars)
        header, rows = download_rows(viewer, query)
        body = message_export.write_csv(header, rows, delimiter=_CSV_DELIMITERS.get(viewer.language, ","))
        return StreamingResponse(
            body, media_type="text/csv; charset=utf-8", headers=disposition(viewer, "csv")
        )

    @router.get("/messages.xlsx")
    def message_xlsx(request: Request, viewer: Annotated[Viewer, Depends(web.viewer)]) -> Response:
        query, calendars = read_query(request, viewer)
        if query.errors:
            return page(request, viewer, query, calendars)
        header, rows = download_rows(viewer, query)
        sheet = gettext_for(viewer.language, N_("Messages"))
        content = message_export.write_xlsx(header, rows, sheet=sheet)
        return Response(content, media_type=_XLSX, headers=disposition(viewer, "xlsx"))

    return router
