"""Reminder message templates: plain text with ``{placeholder}`` fields.

Templates are data written by business owners, so they are parsed here by a tiny scanner and
never handed to Jinja or ``str.format`` (which would allow attribute access and format specs).

Syntax: ``{name}`` with one of the lower-case names in :data:`PLACEHOLDERS`; ``{{`` and ``}}``
are a literal ``{`` and ``}``. Names are exact: ``{Date}`` is rejected with a hint to write
``{date}``, because a template that silently accepted variants would be harder to explain in
the editor than a clear message.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Final

from reminders.messaging.formatting import (
    format_date,
    format_date_long,
    format_time,
    format_weekday,
)
from reminders.messaging.segments import normalize_for_gsm
from reminders.msgid import N_

MAX_TEMPLATE_LENGTH: Final = 1000

PLACEHOLDERS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "business": "Name of the business (Praxis Muster)",
        "calendar": "Name of the calendar that holds the appointment",
        "date": "Date of the appointment (25.11.2026)",
        "date_long": "Weekday and written-out date (Mittwoch, 25. November 2026)",
        "location": "Location of the appointment, as entered in the calendar",
        "time": "Start time of the appointment (14:30)",
        "title": "Title of the appointment, without the phone number",
        "weekday": "Weekday of the appointment (Mittwoch)",
    }
)

# Names people naturally type in the languages we serve, to point them at the right one.
_ALIASES: Final = {
    "datum": "date",
    "data": "date",
    "zeit": "time",
    "uhrzeit": "time",
    "heure": "time",
    "ora": "time",
    "tag": "weekday",
    "wochentag": "weekday",
    "jour": "weekday",
    "giorno": "weekday",
    "day": "weekday",
    "ort": "location",
    "adresse": "location",
    "lieu": "location",
    "luogo": "location",
    "place": "location",
    "address": "location",
    "titel": "title",
    "titre": "title",
    "titolo": "title",
    "firma": "business",
    "praxis": "business",
    "name": "business",
    "kalender": "calendar",
    "calendrier": "calendar",
    "calendario": "calendar",
}

DEFAULT_TEMPLATES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "de": (
            "Erinnerung: Ihr Termin bei {business} am {weekday}, {date} um {time} Uhr, {location}. "
            "Bei Verhinderung bitte absagen."
        ),
        "fr": (
            "Rappel : votre rendez-vous chez {business} le {weekday} {date} à {time}, {location}. "
            "Merci d'avertir en cas d'absence."
        ),
        "it": (
            "Promemoria: appuntamento da {business} {weekday} {date} alle {time}, {location}. "
            "In caso di impedimento ci avvisi."
        ),
        "en": (
            "Reminder: your appointment at {business} on {weekday} {date} at {time}, {location}. "
            "Please tell us if you cannot come."
        ),
    }
)


class TemplateError(ValueError):
    """A template cannot be used. `msgid` and `params` let a page say why in the viewer's language."""

    def __init__(self, msgid: str, **params: object) -> None:
        super().__init__(msgid % params)
        self.msgid, self.params = msgid, params

    def translated(self, gettext: Callable[[str], str]) -> str:
        """The message in the language `gettext` translates into."""
        return gettext(self.msgid) % self.params


@dataclass(frozen=True, slots=True)
class MessageContext:
    """Values a template is rendered with. ``starts_at`` is aware; times show in ``timezone``."""

    starts_at: datetime
    timezone: str
    language: str
    title: str
    location: str
    business: str
    calendar: str


@dataclass(frozen=True, slots=True)
class _Text:
    text: str


@dataclass(frozen=True, slots=True)
class _Field:
    name: str


def _allowed() -> str:
    return ", ".join(f"{{{name}}}" for name in sorted(PLACEHOLDERS))


def _tokens(body: str) -> Iterator[_Text | _Field]:
    """Split ``body`` into literal text and fields; raise TemplateError on brace syntax errors."""
    i, n = 0, len(body)
    literal: list[str] = []
    while i < n:
        ch = body[i]
        if ch == "{":
            if body.startswith("{{", i):
                literal.append("{")
                i += 2
                continue
            end = body.find("}", i + 1)
            inner_open = body.find("{", i + 1, end if end != -1 else n)
            newline = body.find("\n", i + 1, end if end != -1 else n)
            if end == -1 or inner_open != -1 or newline != -1:
                raise TemplateError(
                    N_(
                        "The brace { at character %(position)s is not closed. "
                        "Write {{ for a literal {, or close the placeholder, e.g. {date}."
                    ),
                    position=i + 1,
                )
            if literal:
                yield _Text("".join(literal))
                literal = []
            yield _Field(body[i + 1 : end])
            i = end + 1
        elif ch == "}":
            if body.startswith("}}", i):
                literal.append("}")
                i += 2
                continue
            raise TemplateError(
                N_("The brace } at character %(position)s has no opening {. Write }} for a literal }."),
                position=i + 1,
            )
        else:
            literal.append(ch)
            i += 1
    if literal:
        yield _Text("".join(literal))


def _suggestion(name: str) -> str | None:
    key = name.strip().strip("{}").lower().replace("-", "_").replace(" ", "_")
    if key in PLACEHOLDERS:
        return key
    if key in _ALIASES:
        return _ALIASES[key]
    close = difflib.get_close_matches(key, list(PLACEHOLDERS), n=1, cutoff=0.7)
    return close[0] if close else None


def placeholders_in(body: str) -> list[str]:
    """Distinct placeholder names written in ``body``, known or not, in order of appearance.

    Raises TemplateError only for brace syntax errors, so an editor can highlight unknown names.
    """
    return list(dict.fromkeys(tok.name for tok in _tokens(body) if isinstance(tok, _Field)))


def validate_template(body: str) -> None:
    """Raise TemplateError if ``body`` is empty, too long, malformed or uses unknown placeholders."""
    if not body.strip():
        raise TemplateError(N_("The message is empty. Write the text of the reminder."))
    if len(body) > MAX_TEMPLATE_LENGTH:
        raise TemplateError(
            N_("The message is %(length)s characters long; at most %(limit)s are allowed."),
            length=len(body),
            limit=MAX_TEMPLATE_LENGTH,
        )
    unknown = [name for name in placeholders_in(body) if name not in PLACEHOLDERS]
    if not unknown:
        return
    if len(unknown) == 1:
        name, hint = unknown[0], _suggestion(unknown[0])
        if hint:
            raise TemplateError(
                N_("Unknown placeholder %(name)s (did you mean %(hint)s?). Use one of: %(allowed)s."),
                name=f"{{{name}}}",
                hint=f"{{{hint}}}",
                allowed=_allowed(),
            )
        raise TemplateError(
            N_("Unknown placeholder %(name)s. Use one of: %(allowed)s. Write {{ and }} for literal braces."),
            name=f"{{{name}}}",
            allowed=_allowed(),
        )
    # Several: each with its likely meaning after an arrow, which reads the same in every language.
    names = ", ".join(
        f"{{{name}}}" + (f" → {{{hint}}}" if (hint := _suggestion(name)) else "") for name in unknown
    )
    raise TemplateError(
        N_("Unknown placeholders %(names)s. Use one of: %(allowed)s. Write {{ and }} for literal braces."),
        names=names,
        allowed=_allowed(),
    )


_WHITESPACE: Final = re.compile(r"\s+")
_SPACES: Final = re.compile(r" {2,}")
_TRAILING_SPACES: Final = re.compile(r" +\n")
# What an empty value takes with it: the spaces before it and one comma/semicolon or " -"
# separator, so "14:30 Uhr, {location}." reads "14:30 Uhr." without a location.
_DANGLING_SEPARATOR: Final = re.compile(r"(?: *[,;]| +[-–])? *\Z")


def _values(ctx: MessageContext) -> dict[str, str]:
    at, tz, lang = ctx.starts_at, ctx.timezone, ctx.language
    raw = {
        "business": ctx.business,
        "calendar": ctx.calendar,
        "date": format_date(at, tz, lang),
        "date_long": format_date_long(at, tz, lang),
        "location": ctx.location,
        "time": format_time(at, tz, lang),
        "title": ctx.title,
        "weekday": format_weekday(at, tz, lang),
    }
    # A value is inserted inline: calendar fields may carry line breaks and runs of spaces.
    return {name: _WHITESPACE.sub(" ", value).strip() for name, value in raw.items()}


def render(body: str, ctx: MessageContext) -> str:
    """Render ``body`` for ``ctx``: validate, substitute, tidy whitespace, normalise for GSM-7.

    An empty value removes the separator before it (see ``_DANGLING_SEPARATOR``); runs of spaces
    collapse to one, spaces at line ends and around the whole text are dropped. The result goes
    through :func:`normalize_for_gsm` so that typography in calendar data does not double the price.
    """
    validate_template(body)
    values = _values(ctx)
    out: list[str] = []
    previous: _Text | _Field | None = None
    for tok in _tokens(body):
        if isinstance(tok, _Text):
            out.append(tok.text)
        elif values[tok.name]:
            out.append(values[tok.name])
        elif isinstance(previous, _Text):
            # Only the template's own text loses its separator, never a neighbouring value.
            out[-1] = _DANGLING_SEPARATOR.sub("", out[-1])
        previous = tok
    # Normalise first so no-break spaces from the template collapse too; the tidy-up can leave a
    # fresh CRLF ("\r  \n"), hence the second, cheap pass.
    text = _TRAILING_SPACES.sub("\n", _SPACES.sub(" ", normalize_for_gsm("".join(out))))
    return normalize_for_gsm(text.strip())
