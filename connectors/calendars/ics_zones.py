"""Time zones of an iCalendar feed: TZID resolution and defusing the feed's own VTIMEZONEs.

A TZID may be an IANA name, a Windows name ("W. Europe Standard Time") or a vendor-prefixed one;
`lookup_zone` and `zone_label` map all of them to IANA zones. A feed may also define zones itself.
Those are untrusted code in effect: dateutil evaluates them lazily, outside any work budget, and
icalendar caches them process-wide by TZID. So `sanitize_timezones` keeps only cheap ones, and a
parse holds `PARSE_LOCK` and reads inside `fresh_zone_cache` so no feed's zones reach another feed.
"""

from __future__ import annotations

import re
import threading
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import tzinfo
from functools import lru_cache

from icalendar.timezone import tzp
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from connectors.calendars.ics_recurrence import timezone_rule_is_safe

MAX_TIMEZONES = 100
# The same folding and line rules as icalendar's parser, so both see the same lines.
_UNFOLD = re.compile(r"(?:(?<!\n)\r\n|(?<![\r\n])\n)(?:\r?\n)*[ \t]")
_NEWLINE = re.compile(r"\r?\n")
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu", "Universal", "Etc/Universal"})

# Parsing resets process-wide state: icalendar's VTIMEZONE cache (by TZID, so one feed's hostile or
# outdated "W. Europe Standard Time" would apply to every later feed) and the warnings filters. One
# parse at a time keeps feeds apart; parsing is CPU-bound, so under the GIL this costs no throughput.
PARSE_LOCK = threading.Lock()


@contextmanager
def fresh_zone_cache() -> Iterator[None]:
    """Empty icalendar's VTIMEZONE cache before and after reading a feed (hold `PARSE_LOCK`)."""
    tzp.use_zoneinfo()  # resets icalendar's timezone cache
    try:
        yield
    finally:
        tzp.use_zoneinfo()


# --- resolving TZIDs ----------------------------------------------------------------------------


def lookup_zone(name: str) -> zoneinfo.ZoneInfo | None:
    """Resolve an IANA name, a Windows zone name or a vendor-prefixed TZID; None if unknown."""
    key = _iana_key(name)
    return None if key is None else zoneinfo.ZoneInfo(key)


def zone_label(tz: tzinfo | None, tzid: str | None) -> str | None:
    """The IANA name to report for a timezone; None for UTC or an unidentifiable zone."""
    key = getattr(tz, "key", None)
    if isinstance(key, str) and key in _known_keys():
        return None if key in _UTC_NAMES else key
    if tzid is not None:
        resolved = _iana_key(tzid)
        if resolved is not None and resolved not in _UTC_NAMES:
            return resolved
    return None


@lru_cache(maxsize=1)
def _known_keys() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _iana_key(tzid: str) -> str | None:
    return _cached_iana_key(tzid) if len(tzid) <= 200 else None  # never cache huge junk


@lru_cache(maxsize=1024)
def _cached_iana_key(tzid: str) -> str | None:
    cleaned = tzid.strip().strip("/")
    candidates = [cleaned, WINDOWS_TO_OLSON.get(cleaned, "")]
    parts = cleaned.split("/")
    # "Globally unique" TZIDs like /mozilla.org/20070129_1/Europe/Berlin end in an IANA name.
    candidates += ["/".join(parts[i:]) for i in range(1, len(parts))]
    return next((c for c in candidates if c in _known_keys()), None)


# --- the feed's own VTIMEZONEs ------------------------------------------------------------------


def sanitize_timezones(text: str, warn: Callable[[str], None]) -> str:
    """Make VTIMEZONEs cheap to evaluate, and drop those that cannot be.

    dateutil evaluates a VTIMEZONE lazily on UTC conversions, outside any budget, by iterating its
    rules from their start (often 1601): a rule repeating every second never finishes, and even a
    yearly one takes ~0.3 s to reach a date in 9999. So rules must be yearly on dates that exist,
    they stop in 2200, and a feed keeps at most MAX_TIMEZONES zones. Events whose zone was dropped
    are read like events with an unknown TZID.
    """
    if "BEGIN:VTIMEZONE" not in text.upper():
        return text
    kept: list[str] = []
    block: list[str] | None = None
    zones = 0
    for line in _NEWLINE.split(_UNFOLD.sub("", text)):
        upper = line.upper()
        if block is None and upper.startswith("BEGIN:VTIMEZONE"):
            block = [line]
        elif block is None:
            kept.append(line)
        else:
            block.append(line)
            if not upper.startswith("END:VTIMEZONE"):
                continue
            tzid = next((b[5:].strip() for b in block if b.upper().startswith("TZID:")), "?")
            rules = [b.partition(":")[2] for b in block if b.upper().startswith("RRULE")]
            if zones >= MAX_TIMEZONES:
                warn(f"The feed defines more than {MAX_TIMEZONES} time zones; the others were ignored.")
            elif all(timezone_rule_is_safe(rule) for rule in rules):
                kept.extend(_bounded_rule(b) if b.upper().startswith("RRULE") else b for b in block)
                zones += 1
            else:
                warn(f"Ignored the definition of time zone {_short(tzid)!r}: its rules are unusable.")
            block = None
    kept.extend(block or ())
    return "\r\n".join(kept)


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


def _short(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
