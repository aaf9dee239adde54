"""The language one reminder is written in. Pure: no database, no clock.

In order, the first that applies wins:

1. a tag such as ``[fr]`` written in the event's title, location or description (the business
   knows the client's language best and says so per appointment);
2. the recipient's country code, through the account's ``language_by_prefix`` map (longest
   prefix wins), or, when the account has no map, :data:`BUILT_IN_PREFIXES` for numbers from
   another country than the account's;
3. the calendar's language: the one set on it, else, when its chosen templates are all written
   in one language, that language (choosing a German template for a calendar says its clients
   read German; see :func:`calendar_language`);
4. the account's language.

Tags are removed from the title and location that go into the message (see :func:`strip_tags`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

import phonenumbers

from reminders.messaging.formatting import SUPPORTED_LANGUAGES, normalize_language

__all__ = [
    "BUILT_IN_PREFIXES",
    "LanguageChoice",
    "LanguageSource",
    "calendar_default",
    "calendar_language",
    "choose_language",
    "language_for_number",
    "language_tag",
    "strip_tags",
]

# One language per country, for countries that speak one of ours. Multilingual countries
# (Switzerland, Belgium, Luxembourg, Canada) are left out on purpose: their number says nothing
# about the client's language, so the calendar's or the account's language decides.
BUILT_IN_PREFIXES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "+49": "de",  # Germany
        "+43": "de",  # Austria
        "+423": "de",  # Liechtenstein
        "+33": "fr",  # France
        "+377": "fr",  # Monaco
        "+39": "it",  # Italy
        "+378": "it",  # San Marino
        "+44": "en",  # United Kingdom
        "+353": "en",  # Ireland
        "+61": "en",  # Australia
        "+64": "en",  # New Zealand
    }
)

_TAG: Final = re.compile(r"\[\s*(" + "|".join(SUPPORTED_LANGUAGES) + r")\s*\]", re.IGNORECASE)
# What a removed tag leaves behind: doubled spaces, or a space before punctuation.
_SPACES: Final = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_PUNCTUATION: Final = re.compile(r"[ \t]+([,.;:!?)])")


class LanguageSource(StrEnum):
    """Where a reminder's language came from (shown when explaining a message)."""

    TAG = "tag"
    PREFIX = "prefix"
    CALENDAR = "calendar"
    # The calendar has no language of its own, and its chosen templates are of this one language.
    TEMPLATE = "template"
    ACCOUNT = "account"


@dataclass(frozen=True, slots=True)
class LanguageChoice:
    """The language of one reminder and why."""

    language: str
    source: LanguageSource


def language_tag(*texts: str) -> str | None:
    """The language of the first tag (``[de]``, ``[fr]``, ``[it]``, ``[en]``) in ``texts``, else None."""
    for text in texts:
        if found := _TAG.search(text):
            return found.group(1).lower()
    return None


def strip_tags(text: str) -> str:
    """``text`` without its language tags: ``"Kontrolle [fr]"`` becomes ``"Kontrolle"``."""
    if not _TAG.search(text):
        return text  # untouched: the caller's own spacing stays as it was
    without = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", _SPACES.sub(" ", _TAG.sub(" ", text)))
    return "\n".join(line.strip() for line in without.split("\n")).strip()


def language_for_number(
    number: str | None, by_prefix: Mapping[str, str], *, home_region: str = "CH"
) -> str | None:
    """The language for an E.164 number from the account's map, longest prefix first.

    An empty map means the built-in one, except for numbers of the account's own country: a
    business's setting describes its local clients, a foreign number says more than that setting
    only about visitors. Prefixes are compared digit by digit (``+41 79`` matches ``+4179…``);
    entries with a language we do not write are ignored.
    """
    if not number:
        return None
    digits = _digits(number)
    table = by_prefix or _built_in_for(home_region)
    matches = [
        (len(prefix), language)
        for prefix, language in ((_digits(p), lang) for p, lang in table.items())
        if prefix and digits.startswith(prefix) and _supported(language)
    ]
    if not matches:
        return None
    return normalize_language(max(matches)[1])


def choose_language(
    *,
    title: str,
    location: str,
    description: str,
    recipient: str | None,
    by_prefix: Mapping[str, str],
    home_region: str,
    calendar_language: str | None,
    account_language: str,
) -> LanguageChoice:
    """Pick the reminder's language (see the module's docstring for the order)."""
    if tagged := language_tag(title, location, description):
        return LanguageChoice(tagged, LanguageSource.TAG)
    if by_number := language_for_number(recipient, by_prefix, home_region=home_region):
        return LanguageChoice(by_number, LanguageSource.PREFIX)
    if calendar_language and _supported(calendar_language):
        return LanguageChoice(normalize_language(calendar_language), LanguageSource.CALENDAR)
    return LanguageChoice(normalize_language(account_language), LanguageSource.ACCOUNT)


def calendar_language(explicit: str | None, template_languages: Collection[str]) -> str | None:
    """The calendar's language for :func:`choose_language`: the one set on the calendar, else the
    language of its chosen templates when they are all of one language, else None (the account's).

    `template_languages` are the languages the calendar has a saved template chosen for. Dispatch,
    the template preview and the calendar page all ask this function, so they never disagree.
    """
    if explicit and _supported(explicit):
        return normalize_language(explicit)
    chosen = {normalize_language(language) for language in template_languages if _supported(language)}
    return chosen.pop() if len(chosen) == 1 else None


def calendar_default(
    explicit: str | None, template_languages: Collection[str], account_language: str
) -> LanguageChoice:
    """The language of the calendar's reminders when neither a tag nor the number decides, and why."""
    if explicit and _supported(explicit):
        return LanguageChoice(normalize_language(explicit), LanguageSource.CALENDAR)
    if inferred := calendar_language(None, template_languages):
        return LanguageChoice(inferred, LanguageSource.TEMPLATE)
    return LanguageChoice(normalize_language(account_language), LanguageSource.ACCOUNT)


def _digits(prefix: str) -> str:
    return "".join(ch for ch in prefix if ch.isdigit())


def _supported(language: str) -> bool:
    return language.strip().lower().replace("_", "-").split("-", 1)[0] in SUPPORTED_LANGUAGES


def _built_in_for(home_region: str) -> Mapping[str, str]:
    home = phonenumbers.country_code_for_region(home_region.strip().upper())
    if not home:
        return BUILT_IN_PREFIXES
    return {prefix: language for prefix, language in BUILT_IN_PREFIXES.items() if prefix != f"+{home}"}
