"""Time zones of an iCalendar feed: TZID resolution and defusing the feed's own VTIMEZONEs.

A TZID may be an IANA name, a Windows name ("W. Europe Standard Time") or a vendor-prefixed one;
`lookup_zone` and `zone_label` map all of them to IANA zones. A TZID that is too long or looks like a
file path is unusable: it is unknown everywhere and never reaches the file system (zoneinfo looks
names up as files, and its errors show the server's install path).

A feed may also define zones itself. Those are untrusted code in effect: dateutil evaluates them
lazily, outside any work budget, and icalendar parses them strictly and caches them process-wide by
TZID. So `TimezoneDefinitions` keeps only cheap, readable ones (the others are dropped and their
events read like events with an unknown TZID), and a parse holds `PARSE_LOCK` and reads inside
`fresh_zone_cache` so no feed's zones reach another feed.
"""

from __future__ import annotations

import logging
import re
import threading
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import cast

import icalendar
from icalendar.timezone import tzp
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON
from icalendar.timezone.zoneinfo import ZONEINFO

from connectors.calendars.ics_errors import raise_if_out_of_memory
from connectors.calendars.ics_naming import UTC_NAMES, name_text
from connectors.calendars.ics_prune import content_parts
from connectors.calendars.ics_recurrence import timezone_rule_is_safe

log = logging.getLogger(__name__)

MAX_TIMEZONES = 100
MAX_TZID_CHARS = 255
# Why a definition was dropped, as the end of "… uses the time zone 'X', whose definition in the feed …".
UNREADABLE = "is unreadable"
TOO_COSTLY = "is too costly to compute"
TOO_MANY = f"was ignored (the feed defines more than {MAX_TIMEZONES} time zones)"

_PATH_PARTS = frozenset({".", ".."})
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")
# Dates at which a kept definition must answer, so a broken one fails here and not mid-expansion.
_PROBES = (datetime(1999, 1, 15), datetime(2026, 7, 15))  # noqa: DTZ001 - wall times in the zone

# Parsing resets process-wide state: icalendar's VTIMEZONE cache (by TZID, so one feed's hostile or
# outdated "W. Europe Standard Time" would apply to every later feed), its TZID lookup and the
# warnings filters. One parse at a time keeps feeds apart in one process; `IsolatedIcsParser`
# (ics_isolation) runs each parse in a child process instead, so that parses never wait.
PARSE_LOCK = threading.Lock()


@contextmanager
def fresh_zone_cache() -> Iterator[None]:
    """Read a feed with an empty VTIMEZONE cache and usable TZIDs only (hold `PARSE_LOCK`).

    icalendar resolves every TZID through `tzp.timezone`, which tries the TZID and guesses made
    from it with its provider. Our provider answers for the zones zoneinfo lists only, so a feed
    never makes zoneinfo look for a file. Shadowing `timezone` on the instance for the duration of
    the parse makes unusable TZIDs unknown before any guess (which would turn "/x/../Europe/Paris"
    into Paris).
    """
    tzp.use(_ListedZonesOnly())  # also empties icalendar's timezone cache
    lookup = tzp.timezone

    def usable_only(tz_id: str) -> tzinfo | None:
        return lookup(tz_id) if isinstance(tz_id, str) and usable_tzid(tz_id) else None

    vars(tzp)["timezone"] = usable_only
    try:
        yield
    finally:
        vars(tzp).pop("timezone", None)  # back to the class's method
        tzp.use_zoneinfo()


class _ListedZonesOnly(ZONEINFO):
    """icalendar's zoneinfo provider, for the zones zoneinfo lists (less the server's own)."""

    def timezone(self, name: str) -> tzinfo | None:
        return zoneinfo.ZoneInfo(name) if name in _known_keys() else None


def usable_tzid(tzid: str) -> bool:
    """Whether a TZID may be looked up at all: short, and nothing like a file path."""
    if len(tzid) > MAX_TZID_CHARS or _CONTROL.search(tzid):
        return False
    return not any(part in _PATH_PARTS for part in tzid.split("/"))


# --- resolving TZIDs ----------------------------------------------------------------------------


def lookup_zone(name: str) -> zoneinfo.ZoneInfo | None:
    """Resolve an IANA name, a Windows zone name or a vendor-prefixed TZID; None if unknown."""
    key = _iana_key(name)
    return None if key is None else zoneinfo.ZoneInfo(key)


def zone_label(tz: tzinfo | None, tzid: str | None) -> str | None:
    """The IANA name to report for a timezone; None for UTC or an unidentifiable zone."""
    key = getattr(tz, "key", None)
    if isinstance(key, str) and key in _known_keys():
        return None if key in UTC_NAMES else key
    if tzid is not None:
        resolved = _iana_key(tzid)
        if resolved is not None and resolved not in UTC_NAMES:
            return resolved
    return None


@lru_cache(maxsize=1)
def _known_keys() -> frozenset[str]:
    # "localtime" (a link to /etc/localtime on Debian) is the server's zone: no feed may use it.
    return frozenset(zoneinfo.available_timezones() - {"localtime"})


def _iana_key(tzid: str) -> str | None:
    return _cached_iana_key(tzid) if usable_tzid(tzid) else None


@lru_cache(maxsize=1024)
def _cached_iana_key(tzid: str) -> str | None:
    cleaned = tzid.strip().strip("/")
    candidates = [cleaned, WINDOWS_TO_OLSON.get(cleaned, "")]
    parts = cleaned.split("/")
    # "Globally unique" TZIDs like /mozilla.org/20070129_1/Europe/Berlin end in an IANA name.
    candidates += ["/".join(parts[i:]) for i in range(1, len(parts))]
    return next((c for c in candidates if c in _known_keys()), None)


# --- the feed's own VTIMEZONEs ------------------------------------------------------------------


class TimezoneDefinitions:
    """A filter for a feed's VTIMEZONE blocks (see ics_prune): keeps the usable ones, made cheap.

    dateutil evaluates a VTIMEZONE lazily on UTC conversions, outside any budget, by iterating its
    rules from their start (often 1601): a rule repeating every second never finishes, and even a
    yearly one takes ~0.3 s to reach a date in 9999. So rules must be yearly on dates that exist,
    they stop in 2200, and a feed keeps at most MAX_TIMEZONES zones. A definition icalendar cannot
    read (an empty or second TZID, an RDATE it does not support, a broken offset) would fail the
    whole feed; it is dropped instead. `dropped` says why, by TZID, for the warnings of its events.
    Call inside `fresh_zone_cache`: checking a definition caches it, as the parse would.
    """

    def __init__(self, warn: Callable[[str], None]) -> None:
        self.dropped: dict[str, str] = {}
        self._warn = warn
        self._kept = 0

    def __call__(self, block: list[str]) -> list[str]:
        """The lines to keep for one VTIMEZONE (BEGIN to END), or none."""
        tzids = [value for name, value in _own_properties(block) if name == "TZID"]
        if not tzids or not tzids[0].strip():
            return []  # nameless: nothing can refer to it, so nothing is lost
        if len(tzids) > 1 or not all(usable_tzid(t) for t in tzids):
            return self._drop(tzids, UNREADABLE)
        if self._kept >= MAX_TIMEZONES:
            self._warn(f"The feed defines more than {MAX_TIMEZONES} time zones; the others were ignored.")
            return self._drop(tzids, TOO_MANY)
        rules = [b.partition(":")[2] for b in block if b.upper().startswith("RRULE")]
        if not all(timezone_rule_is_safe(rule) for rule in rules):
            return self._drop(tzids, TOO_COSTLY)
        bounded = [_bounded_rule(b) if b.upper().startswith("RRULE") else b for b in block]
        if not _definition_works(bounded, tzids[0]):
            return self._drop(tzids, UNREADABLE)
        self._kept += 1
        return bounded

    def _drop(self, tzids: list[str], reason: str) -> list[str]:
        for tzid in tzids:
            self.dropped.setdefault(tzid, reason)
        return []


def dropped_zone_phrase(tzid: str, reason: str) -> str:
    """'the time zone 'X', whose definition in the feed is unreadable'."""
    return f"the time zone {name_text(tzid)}, whose definition in the feed {reason}"


def _own_properties(block: list[str]) -> Iterator[tuple[str, str]]:
    """(NAME, value) of the VTIMEZONE's own properties, not those of its STANDARD/DAYLIGHT parts."""
    depth = 0
    for line in block:
        parts = content_parts(line)
        if parts is None:
            continue
        name, value = parts
        if name == "BEGIN":
            depth += 1
        elif name == "END":
            depth -= 1
        elif depth == 1:
            yield name, value


def _definition_works(block: list[str], tzid: str) -> bool:
    try:
        icalendar.Timezone.from_ical("\r\n".join(block))  # caches it, like the parse will
        zone = cast("tzinfo | None", tzp.timezone(tzid))  # icalendar's annotation is off
        for probe in _PROBES:
            if zone is not None:
                zone.utcoffset(probe.replace(tzinfo=zone))
    except Exception as exc:  # icalendar and dateutil raise anything on broken definitions
        raise_if_out_of_memory(exc)
        log.debug("ics.timezone.unreadable", exc_info=True)
        return False
    return True


def _bounded_rule(line: str) -> str:
    """The RRULE line of a VTIMEZONE, ending by 2200 at the latest."""
    name, _, value = line.partition(":")
    parts = []
    for part in filter(None, value.split(";")):
        key, _, setting = part.partition("=")
        far = (key.upper() == "UNTIL" and setting[:4] > "2200") or (
            key.upper() == "COUNT" and (not setting.isdigit() or int(setting) > 600)
        )
        if not far:
            parts.append(part)
    if not any(p.upper().startswith(("UNTIL=", "COUNT=")) for p in parts):
        parts.append("UNTIL=22000101T000000Z")
    return f"{name}:{';'.join(parts)}"
