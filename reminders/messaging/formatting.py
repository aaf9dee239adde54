"""Localised date and time formatting for reminder texts (de, fr, it, en).

Formats follow what a Swiss/European clinic writes by hand:

====  ============  =====  =========  ============================
lang  date          time   weekday    date_long
====  ============  =====  =========  ============================
de    25.11.2026    14:30  Mittwoch   Mittwoch, 25. November 2026
fr    25.11.2026    14h30  mercredi   mercredi 25 novembre 2026
it    25.11.2026    14:30  mercoledì  mercoledì 25 novembre 2026
en    25 Nov 2026   14:30  Wednesday  Wednesday, 25 November 2026
====  ============  =====  =========  ============================

English avoids a numeric date because 11/12/2026 means different days to British and
American readers. All outputs use only GSM-7 characters (``ì`` and ``ä`` are in the basic set),
except French "août", whose ``û`` the SMS normalisation turns into the 1990-reform spelling "aout".
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Final

import pendulum

SUPPORTED_LANGUAGES: Final = ("de", "fr", "it", "en")
FALLBACK_LANGUAGE: Final = "en"

_DATE: Final = {"de": "DD.MM.YYYY", "fr": "DD.MM.YYYY", "it": "DD.MM.YYYY", "en": "D MMM YYYY"}
# Square brackets escape literal text in pendulum formats.
_TIME: Final = {"de": "HH:mm", "fr": "HH[h]mm", "it": "HH:mm", "en": "HH:mm"}
_DATE_LONG: Final = {
    "de": "dddd, D. MMMM YYYY",
    "fr": "dddd D MMMM YYYY",
    "it": "dddd D MMMM YYYY",
    "en": "dddd, D MMMM YYYY",
}


def normalize_language(lang: str) -> str:
    """Map a language tag (``de``, ``de-CH``, ``FR_ch``) to a supported language, else ``en``."""
    base = lang.strip().lower().replace("_", "-").split("-", 1)[0]
    return base if base in SUPPORTED_LANGUAGES else FALLBACK_LANGUAGE


def _local(dt: datetime, tz: str) -> pendulum.DateTime:
    # A naive datetime would silently be read as UTC by pendulum; refuse it instead.
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("an aware datetime is required (stored times are UTC)")
    return pendulum.instance(dt).in_tz(_zone(tz))


@lru_cache(maxsize=256)
def _zone(name: str) -> pendulum.Timezone:
    # Building a zone reads the tz database; a dispatch batch formats thousands of times.
    return pendulum.timezone(name)


def format_date(dt: datetime, tz: str, lang: str) -> str:
    """Short date of ``dt`` in zone ``tz``: ``25.11.2026`` (de/fr/it), ``25 Nov 2026`` (en)."""
    lang = normalize_language(lang)
    return _local(dt, tz).format(_DATE[lang], locale=lang)


def format_time(dt: datetime, tz: str, lang: str) -> str:
    """24-hour time of ``dt`` in zone ``tz``: ``14:30``, French ``14h30``."""
    lang = normalize_language(lang)
    return _local(dt, tz).format(_TIME[lang], locale=lang)


def format_weekday(dt: datetime, tz: str, lang: str) -> str:
    """Weekday name in zone ``tz``: ``Mittwoch``, ``mercredi``, ``mercoledì``, ``Wednesday``."""
    lang = normalize_language(lang)
    return _local(dt, tz).format("dddd", locale=lang)


def format_date_long(dt: datetime, tz: str, lang: str) -> str:
    """Weekday and written-out date, e.g. ``Mittwoch, 25. November 2026``."""
    lang = normalize_language(lang)
    local = _local(dt, tz)
    if lang == "fr" and local.day == 1:
        # French writes only the first of the month as an ordinal ("1er"), never "2e", "25e".
        return local.format("dddd [1er] MMMM YYYY", locale=lang)
    return local.format(_DATE_LONG[lang], locale=lang)
