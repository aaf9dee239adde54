"""`reminders phones check`: run the phone finder over JSON lines, for support and bug reports.

Each input line is an object with `location`, `title`, `description` (strings or null), an
optional `region` (default "CH") and an optional `fields` list (the calendar's enabled fields,
in order). Each output line is `{"number": "+41…", "source": "location"}`,
`{"number": null, "reason": "landline"}`, or `{"error": "…"}` for a line that could not be read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TextIO

from connectors.calendars.base import PHONE_FIELDS
from reminders.appointments.phones import RecipientResult, find_recipient


class _BadLine(ValueError):
    """The line is not a request this command understands; the message says why."""


def check_lines(lines: Iterable[str], out: TextIO) -> int:
    """Print one JSON result line per non-blank input line; return how many lines were processed."""
    processed = 0
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        processed += 1
        try:
            payload: dict[str, object] = _as_json(_check(line))
        except _BadLine as error:
            payload = {"error": f"line {line_number}: {error}"}
        out.write(json.dumps(payload, ensure_ascii=False) + "\n")
    return processed


def _check(line: str) -> RecipientResult:
    try:
        request = json.loads(line)
    except ValueError as error:
        raise _BadLine(f"not valid JSON ({error})") from None
    except RecursionError:
        raise _BadLine("not valid JSON (nested too deeply)") from None
    if not isinstance(request, Mapping):
        raise _BadLine(f"expected a JSON object, got {type(request).__name__}")
    fields: dict[str, str | None] = {}
    for name in PHONE_FIELDS:
        value = request.get(name)
        if value is not None and not isinstance(value, str):
            raise _BadLine(f"{name!r} must be a string or null")
        fields[name] = value
    region = request.get("region", "CH")
    if not isinstance(region, str):
        raise _BadLine("'region' must be a two-letter country code such as 'CH'")
    enabled = request.get("fields", list(PHONE_FIELDS))
    if not isinstance(enabled, list) or not all(name in PHONE_FIELDS for name in enabled):
        raise _BadLine(f"'fields' must be a list of {', '.join(PHONE_FIELDS)}")
    try:
        return find_recipient(fields, enabled, region)
    except ValueError as error:  # unknown region
        raise _BadLine(str(error)) from None


def _as_json(result: RecipientResult) -> dict[str, object]:
    if result.number is not None:
        return {"number": result.number, "source": result.source}
    return {"number": None, "reason": None if result.reason is None else result.reason.value}
