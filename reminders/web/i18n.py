"""UI languages: gettext catalogs (English msgids, German translations) and dates per language.

Catalogs are `.po` files under `locale/<lang>/LC_MESSAGES/`, one per area of the app so that
they can be edited independently; they are compiled in memory when first used, so no build
step or binary `.mo` file is needed.

Dates are written as the viewer's language writes them in the account's country: English for a
Zurich account is ``en_CH`` (``02.12.2026, 21:03``), not American English (``12/2/26, 9:03 PM``).
A pair Babel does not know (``de_FR``) uses the language alone.
"""

from __future__ import annotations

import gettext
from datetime import datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from reminders.msgid import N_

__all__ = ["N_", "date_locale", "gettext_for", "install", "supported", "translations", "when"]

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES: dict[str, str] = {"en": "English", "de": "Deutsch"}
DEFAULT_LANGUAGE = "de"


def supported(language: str | None) -> str:
    """`language` if the UI speaks it, else the default."""
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


@cache
def catalog(language: str) -> Catalog:
    """Every message of a language's `.po` files, merged."""
    merged = Catalog(locale=language, domain="messages")
    for path in sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=language):
                # Plural entries have a tuple id and a tuple of strings.
                if (
                    message.id
                    and message.string
                    and all(message.string if isinstance(message.string, tuple) else (message.string,))
                ):
                    merged.add(message.id, message.string)
    return merged


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The gettext translations of a UI language (English is the msgids themselves)."""
    if language == "en" or language not in LANGUAGES:
        return gettext.NullTranslations()
    buffer = BytesIO()
    write_mo(buffer, catalog(language))
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def gettext_for(language: str, message: str) -> str:
    """`message` in `language`."""
    return translations(supported(language)).gettext(message)


@cache
def date_locale(language: str, region: str | None = None) -> Locale:
    """The locale dates are written in: `language` as spoken in `region` (the account's country)."""
    if region:
        try:
            return Locale.parse(f"{language}_{region.strip().upper()}")
        except (UnknownLocaleError, ValueError):
            pass  # e.g. German in France: the language's own formats
    return Locale.parse(language)


def when(
    dt: datetime | None, zone: str, language: str, style: str = "medium", region: str | None = None
) -> str:
    """A timestamp in the viewer's language and the account's zone and country ("–" for none)."""
    if dt is None:
        return "–"
    local = dt.astimezone(ZoneInfo(zone))
    return format_datetime(local, format=style, tzinfo=ZoneInfo(zone), locale=date_locale(language, region))


def day(
    dt: datetime | None, zone: str, language: str, style: str = "medium", region: str | None = None
) -> str:
    """A date in the viewer's language, as written in the account's country."""
    if dt is None:
        return "–"
    local = dt.astimezone(ZoneInfo(zone)).date()
    return format_date(local, format=style, locale=date_locale(language, region))


def clock_time(dt: datetime | None, zone: str, language: str, region: str | None = None) -> str:
    """A time of day in the viewer's language, as written in the account's country."""
    if dt is None:
        return "–"
    return format_time(dt.astimezone(ZoneInfo(zone)), format="short", locale=date_locale(language, region))


def install(env: Environment) -> None:
    """Give templates `_`, `gettext`, `ngettext` and `{% trans %}` in the language of the page.

    The page's language is the `lang` variable of the template context, so concurrent requests
    in different languages never share state.
    """
    env.add_extension("jinja2.ext.i18n")

    @pass_context
    def _gettext(context: Context, message: str) -> str:
        return translations(supported(context.get("lang"))).gettext(message)

    @pass_context
    def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
        return translations(supported(context.get("lang"))).ngettext(singular, plural, n)

    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]

    @pass_context
    def _when(context: Context, dt: datetime | None, style: str = "medium") -> str:
        return when(dt, _zone(context), supported(context.get("lang")), style, _region(context))

    @pass_context
    def _day(context: Context, dt: datetime | None, style: str = "medium") -> str:
        return day(dt, _zone(context), supported(context.get("lang")), style, _region(context))

    @pass_context
    def _time(context: Context, dt: datetime | None) -> str:
        return clock_time(dt, _zone(context), supported(context.get("lang")), _region(context))

    env.filters["when"], env.filters["day"], env.filters["clock"] = _when, _day, _time


def _zone(context: Context) -> str:
    zone: Any = context.get("zone")
    return zone if isinstance(zone, str) else "UTC"


def _region(context: Context) -> str | None:
    """The account's country (`region` of the page), whose way of writing dates the page follows."""
    region: Any = context.get("region")
    return region if isinstance(region, str) and region else None
