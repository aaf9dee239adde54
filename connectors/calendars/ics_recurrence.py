"""Check repeat rules (RRULE) before expansion, and bound the work expanding them takes.

dateutil, underneath recurring-ical-events, iterates a rule period by period from its start, and
for a rule that never matches it searches up to the year 9999 without yielding anything: seconds
per event, invisible from outside. Untrusted feeds therefore get two guards here:

- static checks (`rule_problem`, `timezone_rule_is_safe`) reject rules that are malformed, far too
  frequent, or (in a VTIMEZONE, which dateutil evaluates outside any budget) able to search forever;
- a work budget (`SeriesBudget`, per series, drawn from a `FeedBudget` per feed) is charged by a
  guarded dateutil `_iterinfo` on every period it visits, so expansion stops once it is spent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import icalendar
from dateutil import rrule as dateutil_rrule  # type: ignore[import-untyped]

from connectors.calendars.ics_errors import raise_if_out_of_memory
from connectors.calendars.ics_naming import short

MAX_OCCURRENCES_PER_DAY = 24
# Work units one series may spend in dateutil (see SeriesBudget); 1 unit is about 0.1 µs.
EXPANSION_BUDGET = 2_000_000
# ... and all series of one feed together (5,000 weekly series since 2015 need ~170 M): thousands of
# hostile series must not take hours.
FEED_EXPANSION_BUDGET = 300_000_000

_FREQUENCIES = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY")
_TOO_FREQUENT = ("MINUTELY", "SECONDLY")
# name: (lowest, highest, negative values allowed)
_BY_RANGES = {
    "BYSECOND": (0, 60, False),
    "BYMINUTE": (0, 59, False),
    "BYHOUR": (0, 23, False),
    "BYMONTHDAY": (1, 31, True),
    "BYYEARDAY": (1, 366, True),
    "BYWEEKNO": (1, 53, True),
    "BYMONTH": (1, 12, False),
    "BYSETPOS": (1, 366, True),
}
_RULE_PARTS = frozenset({"FREQ", "UNTIL", "COUNT", "INTERVAL", "WKST", "BYDAY", *_BY_RANGES})
_TIMEZONE_RULE_PARTS = _RULE_PARTS - {"BYSETPOS", "BYYEARDAY", "BYWEEKNO"}
_WEEKDAY = re.compile(r"^([+-]?)(\d{0,2})(MO|TU|WE|TH|FR|SA|SU)$")
_MONTH_DAYS = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}


# --- static checks -------------------------------------------------------------------------------


def rule_problem(rules: list[Any]) -> str | None:
    """Why an event's RRULEs cannot be expanded, or None if they can.

    The answer is a predicate for a sentence about the event: "repeats every minute".
    """
    for rule in rules:
        problem = _check_rule(rule)
        if problem is not None:
            return problem
    return None


def timezone_rule_is_safe(value: str) -> bool:
    """Whether the RRULE value of a VTIMEZONE rule is yearly on dates that exist."""
    try:
        rule = icalendar.vRecur.from_ical(value)
    except Exception as exc:  # unreadable rules are unusable rules
        raise_if_out_of_memory(exc)
        return False
    if {str(k).upper() for k in rule} - _TIMEZONE_RULE_PARTS or _check_rule(rule) is not None:
        return False
    if [str(f).upper() for f in rule.get("FREQ", [])] != ["YEARLY"] or rule.get("INTERVAL", [1]) != [1]:
        return False
    # Every yearly rule left must match some date, so dateutil never searches up to year 9999.
    months = rule.get("BYMONTH") or range(1, 13)
    days = rule.get("BYMONTHDAY", [])
    if days and not any(abs(d) <= _MONTH_DAYS[m] for m in months for d in days):
        return False
    ordinals = [_WEEKDAY.match(str(d).upper()) for d in rule.get("BYDAY", [])]
    return all(m is not None and (not m.group(2) or int(m.group(2)) <= 5) for m in ordinals)


def is_empty_rule(rule: Any) -> bool:
    """Whether an RRULE has no parts at all ("RRULE:"), which some exporters write for "never"."""
    return isinstance(rule, icalendar.vRecur) and not rule


def _check_rule(rule: Any) -> str | None:
    if not isinstance(rule, icalendar.vRecur):
        return "has an unreadable repeat rule (RRULE)"
    freqs = [str(f).upper() for f in rule.get("FREQ", [])]
    if len(freqs) != 1 or freqs[0] not in _FREQUENCIES + _TOO_FREQUENT:
        return "has a repeat rule (RRULE) without a valid frequency (FREQ)"
    unsupported = sorted({str(k).upper() for k in rule} - _RULE_PARTS)
    if unsupported:  # dateutil rejects them (RSCALE, X-...)
        return f"has a repeat rule (RRULE) with unsupported parts ({short(', '.join(unsupported), 40)})"
    interval = rule.get("INTERVAL", [1])
    if freqs[0] in _TOO_FREQUENT:
        return f"repeats {_how_often(freqs[0], interval)}"
    if len(interval) != 1 or not isinstance(interval[0], int) or interval[0] < 1:
        return "has a repeat rule (RRULE) with an invalid interval (INTERVAL)"
    for name, (low, high, signed) in _BY_RANGES.items():
        for value in rule.get(name, []):
            if not isinstance(value, int) or not (low <= abs(value) <= high) or (value < 0 and not signed):
                return f"has a repeat rule (RRULE) with an invalid {name}"
    for day in rule.get("BYDAY", []):
        match = _WEEKDAY.match(str(day).upper())
        if match is None or (match.group(2) and not 1 <= int(match.group(2)) <= 53):
            return "has a repeat rule (RRULE) with an invalid BYDAY"
    if _rule_per_day(rule, freqs[0], interval[0]) > MAX_OCCURRENCES_PER_DAY:
        return f"repeats more than {MAX_OCCURRENCES_PER_DAY} times a day"
    return None


def _how_often(freq: str, interval: list[Any]) -> str:
    """'every minute', 'every 15 minutes', 'every second' ..."""
    unit = "minute" if freq == "MINUTELY" else "second"
    every = interval[0] if len(interval) == 1 and isinstance(interval[0], int) else 1
    return f"every {unit}" if every <= 1 else f"every {every:,} {unit}s"


def _rule_per_day(rule: Any, freq: str, interval: int) -> int:
    hours = len(rule.get("BYHOUR", [])) or 1
    if freq == "HOURLY":
        hours = min(math.ceil(24 / interval), len(rule.get("BYHOUR", [])) or 24)
    return hours * (len(rule.get("BYMINUTE", [])) or 1) * (len(rule.get("BYSECOND", [])) or 1)


# --- work budget ---------------------------------------------------------------------------------


class ExpansionTooCostly(Exception):
    """A series used up its expansion budget."""


class SeriesBudget:
    """Work one series may make dateutil do, charged per rule period dateutil visits.

    `attach` marks the series' rules; the guarded `_iterinfo` below is called once per period and
    charges the budget of the rule it serves. Rules without a budget (everyone else's) are unaffected.
    """

    ATTRIBUTE = "_reminders_expansion_budget"

    def __init__(self, units: int, weight: int) -> None:
        self.granted = units
        self.remaining = units
        self.weight = weight

    def attach(self, series: Any) -> None:
        recurrence = getattr(series, "recurrence", None)
        for rule in getattr(recurrence, "rrules", ()):
            setattr(rule, self.ATTRIBUTE, self)

    def charge(self, days: int) -> None:
        # Measured: a period costs ~1.5 µs, filtering a day ~0.2 µs, emitting an instance ~3 µs.
        self.remaining -= 15 + 2 * days + 30 * self.weight
        if self.remaining < 0:
            raise ExpansionTooCostly


class FeedBudget:
    """Work all series of one feed may make dateutil do together, each at most `per_series`."""

    def __init__(self, units: int, per_series: int) -> None:
        self.remaining = units
        self.per_series = per_series

    def for_series(self, rules: list[Any]) -> SeriesBudget:
        """A budget for a series with these RRULEs (of all its components); settle it afterwards."""
        return SeriesBudget(min(self.per_series, self.remaining), _emission_weight(rules))

    def settle(self, series: SeriesBudget) -> None:
        self.remaining -= series.granted - max(series.remaining, 0)

    def limited_by_feed(self, series: SeriesBudget) -> bool:
        """Whether the feed's remaining budget, not the per-series one, limited `series`."""
        return series.granted != self.per_series


def _emission_weight(rules: list[Any]) -> int:
    """An upper bound of the instances one dateutil period emits (an hour for HOURLY, else a day+)."""
    weight = 1
    for rule in rules:
        freq = str(rule.get("FREQ", [""])[0]).upper()
        slots = (len(rule.get("BYMINUTE", [])) or 1) * (len(rule.get("BYSECOND", [])) or 1)
        if freq != "HOURLY":
            slots *= len(rule.get("BYHOUR", [])) or 1
        weight = max(weight, _days_per_period(rule, freq) * slots)
    return weight


def _days_per_period(rule: Any, freq: str) -> int:
    """An upper bound of the days of one period that can hold instances (validated rules only)."""

    def count(name: str) -> int:
        return len(rule.get(name, []))

    weekdays = [_WEEKDAY.match(str(d).upper()) for d in rule.get("BYDAY", [])]
    plain = sum(1 for m in weekdays if m is not None and not m.group(2))
    ordinal = len(weekdays) - plain
    if freq in ("DAILY", "HOURLY"):
        return 1
    if freq == "WEEKLY":
        return len(weekdays) or 1
    if freq == "MONTHLY":
        return count("BYMONTHDAY") or (plain * 5 + ordinal) or 1
    if count("BYYEARDAY"):
        return count("BYYEARDAY")
    if count("BYMONTHDAY"):
        return (count("BYMONTH") or 12) * count("BYMONTHDAY")
    if count("BYWEEKNO"):
        return count("BYWEEKNO") * (len(weekdays) or 7)
    return (plain * 53 + ordinal * (count("BYMONTH") or 1)) or count("BYMONTH") or 1


def _guarded(name: str) -> Callable[..., Any]:
    original = getattr(dateutil_rrule._iterinfo, name)

    def method(self: Any, year: int, month: int, day: int) -> Any:
        result = original(self, year, month, day)
        budget = getattr(self.rrule, SeriesBudget.ATTRIBUTE, None)
        if budget is not None:
            budget.charge(result[2] - result[1])
        return result

    return method


def _install_guard() -> bool:
    base = getattr(dateutil_rrule, "_iterinfo", None)
    names = ("ydayset", "mdayset", "wdayset", "ddayset")
    if base is None or not all(callable(getattr(base, n, None)) for n in names):
        return False  # dateutil changed; the static RRULE checks still apply
    if getattr(base, "_reminders_guard", False):
        return True
    # No __slots__ on purpose: _iterinfo.__init__ initialises `self.__slots__`, which must stay the base's.
    guarded = type("_GuardedIterInfo", (base,), {"_reminders_guard": True} | {n: _guarded(n) for n in names})
    dateutil_rrule._iterinfo = guarded
    return True


# Installed once per process, on import; whether it took (tests assert it did).
GUARD_INSTALLED = _install_guard()
