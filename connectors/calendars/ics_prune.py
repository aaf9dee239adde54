"""Cut an iCalendar feed down to the parts we read, before icalendar parses it.

icalendar parses every component except VEVENT strictly: one bad value in an alarm, a to-do, a
vendor component, a VTIMEZONE or a calendar property we never read fails the whole feed. We read
events and the time zones they use, nothing else, so `prune_feed` removes everything else from the
text, and hands each VTIMEZONE to a filter that keeps it, repairs it or drops it.

The walk follows icalendar's own structure rules (any END closes the innermost open component), so
what is kept parses exactly as it would have, minus what was removed; a feed whose BEGIN and END
lines do not match is still refused by the parser.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from icalendar.parser import Contentline

# The same folding and line rules as icalendar's parser, so both see the same lines.
_UNFOLD = re.compile(r"(?:(?<!\n)\r\n|(?<![\r\n])\n)(?:\r?\n)*[ \t]")
_NEWLINE = re.compile(r"\r?\n")
_NAME = re.compile(r"[ \t]*([A-Za-z0-9-]+)[ \t]*[;:]")
_PLAIN_MARKER = re.compile(r"[ \t]*(BEGIN|END)[ \t]*:(.*)", re.IGNORECASE | re.DOTALL)

# Calendar properties the libraries read (X-WR-TIMEZONE among the X- ones); all of them are text.
_CALENDAR_PROPERTIES = frozenset({"VERSION", "PRODID", "CALSCALE", "METHOD"})
_READ_AT_TOP = frozenset({"VCALENDAR", "VEVENT", "VTIMEZONE"})
_READ_IN_CALENDAR = frozenset({"VEVENT", "VTIMEZONE"})

TimezoneFilter = Callable[[list[str]], list[str]]


def unfolded_lines(text: str) -> list[str]:
    """The content lines of `text`, unfolded, as icalendar reads them (empty lines included)."""
    return _NEWLINE.split(_UNFOLD.sub("", text))


def prune_feed(text: str, timezones: TimezoneFilter) -> str:
    """Keep the calendars, their events and their time zones; drop every other component.

    Events lose their subcomponents (alarms above all); calendars keep only the properties the
    libraries read. Each complete top-level VTIMEZONE (its lines, BEGIN to END) is passed to
    `timezones`, which returns the lines to keep in its place.
    """
    kept: list[str] = []
    open_names: list[str] = []
    dropping_from: int | None = None  # depth of the component being dropped, with all inside it
    zone: list[str] | None = None  # the lines of the VTIMEZONE being collected
    zone_depth = 0
    for line in unfolded_lines(text):
        marker = _marker(line)
        if marker is not None and marker[0] == "BEGIN":
            open_names.append(marker[1])
        elif marker is not None and open_names:
            open_names.pop()
        if dropping_from is not None:
            if len(open_names) < dropping_from:
                dropping_from = None
            continue
        if zone is not None:
            zone.append(line)
            if len(open_names) < zone_depth:
                kept.extend(timezones(zone))
                zone = None
            continue
        if marker is not None and marker[0] == "BEGIN":
            wanted = _READ_AT_TOP if len(open_names) == 1 else _wanted_in(open_names[-2])
            if marker[1] not in wanted:
                dropping_from = len(open_names)
                continue
            if marker[1] == "VTIMEZONE":
                zone, zone_depth = [line], len(open_names)
                continue
        elif marker is None and open_names == ["VCALENDAR"] and not _calendar_property_read(line):
            continue
        kept.append(line)
    kept.extend(zone or ())  # an unterminated VTIMEZONE: the parser will refuse the feed
    return "\r\n".join(kept)


def _wanted_in(parent: str) -> frozenset[str]:
    return _READ_IN_CALENDAR if parent == "VCALENDAR" else frozenset()


def _marker(line: str) -> tuple[str, str] | None:
    """("BEGIN", name) or ("END", name) for a component boundary, else None."""
    head = line[:16].replace(" ", "").replace("\t", "").upper()  # icalendar ignores blanks in names
    if not head.startswith(("BEGIN", "END")):
        return None
    plain = _PLAIN_MARKER.match(line)
    if plain is not None and "\\" not in line:  # the common case, without icalendar's full split
        return plain.group(1).upper(), plain.group(2).upper()
    parts = content_parts(line)
    if parts is None:
        return None  # not a content line: the parser decides what it means
    kind, value = parts
    return (kind, value.upper()) if kind in ("BEGIN", "END") else None


def content_parts(line: str) -> tuple[str, str] | None:
    """(NAME, value) of a content line, split as icalendar splits it; None if it is not one."""
    try:
        name, _, value = Contentline(line).parts()  # type: ignore[no-untyped-call]
    except ValueError:
        return None
    return name.upper(), value


def _calendar_property_read(line: str) -> bool:
    match = _NAME.match(line)
    if match is None:
        return True  # garbage, not a property: kept so that the parser refuses it
    name = match.group(1).upper()
    return name in _CALENDAR_PROPERTIES or name.startswith("X-")
