"""What a template will send and cost, for the editor's live preview. Pure: no database, no clock.

The text is rendered exactly as dispatch renders it (`templates.render`, which already replaces
typographic characters by their GSM-7 equivalents), then measured with `segments.count_segments`.
1 credit = 1 SMS part, as dispatch debits.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from reminders.messaging.formatting import normalize_language
from reminders.messaging.segments import Encoding, count_segments, is_gsm7, normalize_for_gsm
from reminders.messaging.templates import MessageContext, TemplateError, render

__all__ = ["CharacterNote", "Preview", "preview_message", "sample_context"]

# What a sample appointment looks like when the chosen calendar has none coming up.
SAMPLE_TITLES: Final = {"de": "Kontrolle", "fr": "Contrôle", "it": "Controllo", "en": "Check-up"}
SAMPLE_CALENDARS: Final = {"de": "Termine", "fr": "Rendez-vous", "it": "Appuntamenti", "en": "Appointments"}
SAMPLE_LOCATION: Final = "Bahnhofstrasse 12, 8001 Zürich"
SAMPLE_TIME: Final = time(14, 30)


@dataclass(frozen=True, slots=True)
class CharacterNote:
    """A character outside GSM-7, with its Unicode name and a GSM-7 replacement if there is one."""

    char: str
    name: str
    replacement: str | None

    def as_json(self) -> dict[str, Any]:
        """The note for a JSON answer."""
        return {"char": self.char, "name": self.name, "replacement": self.replacement}


@dataclass(frozen=True, slots=True)
class Preview:
    """The rendered message and its cost, or the template's error.

    `forced_ucs2` are the characters of the message that make it UCS-2 (70 characters per SMS
    instead of 160); `replaced` are characters of the template that are sent as a GSM-7
    equivalent automatically (a typographic quote as '). `gsm_credits` is what the message would
    cost with the forced characters replaced (or left out).
    """

    text: str | None
    error: str | None
    encoding: Encoding | None = None
    characters: int = 0
    units: int = 0
    segments: int = 0
    per_segment: int = 0
    credits: int = 0
    gsm_credits: int = 0
    forced_ucs2: tuple[CharacterNote, ...] = ()
    replaced: tuple[CharacterNote, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The preview for a JSON answer (the editor's script)."""
        return {
            "text": self.text,
            "error": self.error,
            "encoding": str(self.encoding) if self.encoding else None,
            "characters": self.characters,
            "units": self.units,
            "segments": self.segments,
            "per_segment": self.per_segment,
            "credits": self.credits,
            "gsm_credits": self.gsm_credits,
            "forced_ucs2": [note.as_json() for note in self.forced_ucs2],
            "replaced": [note.as_json() for note in self.replaced],
        }


def preview_message(body: str, context: MessageContext, gettext: Callable[[str], str] = str) -> Preview:
    """Render `body` for `context` and measure it; a template error (in `gettext`'s language) is returned."""
    try:
        text = render(body, context)
    except TemplateError as exc:
        return Preview(text=None, error=exc.translated(gettext), replaced=_replaced(body))
    info = count_segments(text)
    forced = tuple(_note(ch, _plain_letter(ch)) for ch in info.non_gsm_chars)
    credits = info.segments
    if forced:
        table = str.maketrans({note.char: note.replacement or "" for note in forced})
        gsm_credits = count_segments(text.translate(table)).segments
    else:
        gsm_credits = credits
    return Preview(
        text=text,
        error=None,
        encoding=info.encoding,
        characters=len(text),
        units=info.units,
        segments=info.segments,
        per_segment=info.per_segment,
        credits=credits,
        gsm_credits=gsm_credits,
        forced_ucs2=forced,
        replaced=_replaced(body),
    )


def sample_context(
    language: str, *, now: datetime, timezone: str, business: str, calendar: str | None = None
) -> MessageContext:
    """A made-up appointment tomorrow at 14:30 (local), for a calendar with no appointment coming up."""
    language = normalize_language(language)
    zone = ZoneInfo(timezone)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return MessageContext(
        starts_at=datetime.combine(tomorrow, SAMPLE_TIME, tzinfo=zone).astimezone(UTC),
        timezone=timezone,
        language=language,
        title=SAMPLE_TITLES[language],
        location=SAMPLE_LOCATION,
        business=business,
        calendar=calendar or SAMPLE_CALENDARS[language],
    )


def _note(ch: str, replacement: str | None) -> CharacterNote:
    return CharacterNote(ch, unicodedata.name(ch, f"U+{ord(ch):04X}"), replacement)


def _replaced(body: str) -> tuple[CharacterNote, ...]:
    """Characters of the template that the SMS normalisation turns into GSM-7 (they cost nothing extra)."""
    notes = []
    for ch in dict.fromkeys(body):
        if is_gsm7(ch):
            continue
        plain = normalize_for_gsm(ch)
        if plain != ch and is_gsm7(plain):
            notes.append(_note(ch, plain))
    return tuple(notes)


def _plain_letter(ch: str) -> str | None:
    """A GSM-7 letter for an accented letter the normalisation keeps (ő → o), else None."""
    base = unicodedata.normalize("NFD", ch)[0]
    return base if base != ch and base.isalpha() and is_gsm7(base) else None
