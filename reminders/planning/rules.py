"""Reminder rules: when, relative to an appointment, a reminder goes out.

Two kinds: an offset before the start ("24 hours before", "1 day before") and a fixed local time
on an earlier day ("the day before at 18:00"). Rules are configured per calendar, read from text
typed in the settings page (`ReminderRule.parse`) and shown back in the user's language
(`ReminderRule.describe`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta
from enum import StrEnum
from typing import NamedTuple, Self, TypeVar

__all__ = ["MAX_LEAD", "OffsetUnit", "ReminderRule", "RuleKind"]

# Far enough for any real reminder, near enough that date arithmetic can never overflow.
MAX_LEAD = timedelta(days=365)


class RuleKind(StrEnum):
    """The two shapes a rule can take."""

    BEFORE = "before"
    DAY_BEFORE_AT = "day_before_at"


class OffsetUnit(StrEnum):
    """The unit of a BEFORE offset. DAYS keep the wall-clock time; HOURS and MINUTES are exact durations."""

    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"


_UNIT_DELTA = {
    OffsetUnit.MINUTES: timedelta(minutes=1),
    OffsetUnit.HOURS: timedelta(hours=1),
    OffsetUnit.DAYS: timedelta(days=1),
}


@dataclass(frozen=True, slots=True)
class ReminderRule:
    """One reminder rule of a calendar.

    BEFORE uses `amount` and `unit`; DAY_BEFORE_AT uses `at` and `days_before`. Fields that do not
    apply to the kind are reset to their defaults, so rows read from the database with leftovers of
    another kind compare equal to the rule they mean.

    :raises ValueError: on a rule that cannot be planned (offset under a minute or over a year,
        missing or zone-aware `at`, negative `days_before`, ...).
    """

    id: int
    kind: RuleKind
    amount: int = 0
    unit: OffsetUnit = OffsetUnit.HOURS
    at: time | None = None
    days_before: int = 1

    def __post_init__(self) -> None:
        kind = _coerce(RuleKind, self.kind, "kind")
        object.__setattr__(self, "kind", kind)
        if kind is RuleKind.BEFORE:
            self._check_before()
            object.__setattr__(self, "at", None)
            object.__setattr__(self, "days_before", 1)
        else:
            self._check_day_before_at()
            object.__setattr__(self, "amount", 0)
            object.__setattr__(self, "unit", OffsetUnit.HOURS)

    def _check_before(self) -> None:
        unit = _coerce(OffsetUnit, self.unit, "unit")
        object.__setattr__(self, "unit", unit)
        if not _is_int(self.amount) or self.amount < 1:
            # Zero would mean "at the start", which is never a reminder.
            raise ValueError(
                f"A reminder must go out at least 1 minute before the start, got {self.amount!r} {unit}."
            )
        if self.amount * _UNIT_DELTA[unit] > MAX_LEAD:
            raise ValueError(f"A reminder can be at most 365 days ahead, got {self.amount} {unit}.")

    def _check_day_before_at(self) -> None:
        at = self.at
        if not isinstance(at, time):
            raise ValueError("A 'day before at' rule needs the time of day it goes out, e.g. 18:00.")
        if at.tzinfo is not None:
            raise ValueError(
                "The time of a 'day before at' rule is a local wall-clock time; give it without a zone."
            )
        if at.second or at.microsecond:
            raise ValueError(f"The time of a 'day before at' rule is in whole minutes, got {at.isoformat()}.")
        if not _is_int(self.days_before) or not 0 <= self.days_before <= MAX_LEAD.days:
            raise ValueError(f"days_before must be between 0 and {MAX_LEAD.days}, got {self.days_before!r}.")

    @property
    def offset(self) -> timedelta:
        """The lead of a BEFORE rule as a duration (a DAYS offset is nominally 24 h per day)."""
        if self.kind is not RuleKind.BEFORE:
            raise ValueError("Only a BEFORE rule has a fixed offset.")
        return self.amount * _UNIT_DELTA[self.unit]

    def describe(self, lang: str = "en") -> str:
        """The rule in words: "24 hours before", "the day before at 18:00".

        Languages: en, de, fr, it (a region suffix such as "de-CH" is ignored); any other language
        falls back to English rather than failing a page.
        """
        words = _WORDS.get(lang.replace("_", "-").split("-")[0].lower(), _WORDS["en"])
        if self.kind is RuleKind.BEFORE:
            one, many = words.units[self.unit]
            return words.before.format(n=self.amount, unit=one if self.amount == 1 else many)
        assert self.at is not None  # guaranteed by __post_init__
        at = self.at.strftime("%H:%M")
        if self.days_before == 0:
            return words.same_day.format(at=at)
        if self.days_before == 1:
            return words.day_before.format(at=at)
        return words.days_before.format(n=self.days_before, at=at)

    @classmethod
    def parse(cls, text: str, id: int = 0) -> Self:
        """Read a rule from text: "24h", "2 h", "90m", "1d", "day-before@18:00", "same-day@07:00",
        "3-days-before@18:00", and the English `describe()` output.

        :raises ValueError: with an example of what is accepted.
        """
        normal = " ".join(text.strip().lower().split())
        if match := _OFFSET_RE.fullmatch(normal):
            unit = _UNIT_ALIASES[match["unit"]]
            return cls(id=id, kind=RuleKind.BEFORE, amount=int(match["amount"]), unit=unit)
        if match := _AT_RE.fullmatch(normal):
            days = 0 if match["same"] else int(match["days"] or 1)
            hour, minute = int(match["hour"]), int(match["minute"])
            if hour > 23 or minute > 59:
                raise ValueError(
                    f"Cannot read reminder rule {text!r}: {hour}:{minute:02d} is not a time of day."
                )
            return cls(id=id, kind=RuleKind.DAY_BEFORE_AT, at=time(hour, minute), days_before=days)
        raise ValueError(
            f"Cannot read reminder rule {text!r}: write an offset such as '24h', '90m' or '1d', "
            "or a time on an earlier day such as 'day-before@18:00'."
        )


_E = TypeVar("_E", bound=StrEnum)


def _coerce(enum: type[_E], value: str, field: str) -> _E:
    # Rows from the database carry plain strings; accept them, but say clearly what is wrong.
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in enum)
        raise ValueError(f"Unknown rule {field} {value!r}; expected one of {allowed}.") from None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_UNIT_ALIASES = {
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), OffsetUnit.MINUTES),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), OffsetUnit.HOURS),
    **dict.fromkeys(("d", "day", "days"), OffsetUnit.DAYS),
}
_OFFSET_RE = re.compile(
    r"(?P<amount>[0-9]+) ?(?P<unit>"
    + "|".join(sorted(_UNIT_ALIASES, key=len, reverse=True))
    + r")(?: before)?",
    re.ASCII,
)
_AT_RE = re.compile(
    r"(?:(?P<same>(?:the[- ])?same[- ]day)|(?:the[- ])?day[- ]before|(?P<days>[0-9]+)[- ]days?[- ]before)"
    r"(?: ?@ ?| at )(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})",
    re.ASCII,
)


class _Words(NamedTuple):
    units: dict[OffsetUnit, tuple[str, str]]
    before: str
    day_before: str
    same_day: str
    days_before: str


_WORDS = {
    "en": _Words(
        {
            OffsetUnit.MINUTES: ("minute", "minutes"),
            OffsetUnit.HOURS: ("hour", "hours"),
            OffsetUnit.DAYS: ("day", "days"),
        },
        "{n} {unit} before",
        "the day before at {at}",
        "the same day at {at}",
        "{n} days before at {at}",
    ),
    "de": _Words(
        {
            OffsetUnit.MINUTES: ("Minute", "Minuten"),
            OffsetUnit.HOURS: ("Stunde", "Stunden"),
            OffsetUnit.DAYS: ("Tag", "Tage"),
        },
        "{n} {unit} vorher",
        "am Vortag um {at}",
        "am selben Tag um {at}",
        "{n} Tage vorher um {at}",
    ),
    "fr": _Words(
        {
            OffsetUnit.MINUTES: ("minute", "minutes"),
            OffsetUnit.HOURS: ("heure", "heures"),
            OffsetUnit.DAYS: ("jour", "jours"),
        },
        "{n} {unit} avant",
        "la veille à {at}",
        "le jour même à {at}",
        "{n} jours avant à {at}",
    ),
    "it": _Words(
        {
            OffsetUnit.MINUTES: ("minuto", "minuti"),
            OffsetUnit.HOURS: ("ora", "ore"),
            OffsetUnit.DAYS: ("giorno", "giorni"),
        },
        "{n} {unit} prima",
        "il giorno prima alle {at}",
        "lo stesso giorno alle {at}",
        "{n} giorni prima alle {at}",
    ),
}
