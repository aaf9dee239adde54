"""The sender name an SMS shows instead of a number (an alphanumeric sender ID). Pure.

Carriers accept at most 11 characters from the GSM-7 basic Latin letters and digits; many also
take spaces. A name of digits only would be read as a phone number, so at least one letter is
required. Accents and punctuation are refused rather than replaced: what the client sees must be
exactly what the business typed.

A new account's sender is made from its business name (:func:`default_sender_name`); there the
owner typed no sender, so the name is spelled in what a sender may hold ("Zahnärzte" becomes
"Zahnaerzte") and shown on the settings page to be changed.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from reminders.msgid import N_

__all__ = [
    "DEFAULT_SENDER_NAME",
    "SENDER_MAX_LENGTH",
    "clean_sender_name",
    "default_sender_name",
    "sender_name_problem",
]

SENDER_MAX_LENGTH: Final = 11
DEFAULT_SENDER_NAME: Final = "Reminder"
_ALLOWED: Final = re.compile(r"[A-Za-z0-9 ]+")
_LETTER: Final = re.compile(r"[A-Za-z]")
_NOT_ALLOWED: Final = re.compile(r"[^A-Za-z0-9 ]")
# German spells an umlaut without its dots this way; other accents just lose theirs (é → e).
_SPELLED: Final = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})


def clean_sender_name(typed: str) -> str | None:
    """The name as stored: spaces around it removed; None for an empty field (the default applies)."""
    name = typed.strip()
    return name or None


def sender_name_problem(name: str) -> str | None:
    """Why ``name`` (already cleaned) cannot be a sender name, as a msgid; None if it can."""
    if not name:
        return N_("Enter a sender name, or leave the field empty to use the account's.")
    if not _ALLOWED.fullmatch(name):
        return N_("Use only the letters A–Z, digits and spaces (no accents or punctuation).")
    if len(name) > SENDER_MAX_LENGTH:
        return N_("Use at most 11 characters.")
    if not _LETTER.search(name):
        return N_("Use at least one letter; a name of digits only would look like a phone number.")
    return None


def default_sender_name(business: str) -> str:
    """The sender of a new account: its business name where it can be one, else "Reminder".

    Accents are spelled out ("Zahnärzte" → "Zahnaerzte", "Café" → "Cafe"), other characters a
    sender cannot hold are left out ("Dr. Muster" → "Dr Muster") and spaces collapsed; a name still
    longer than 11 characters, or without a letter, gives :data:`DEFAULT_SENDER_NAME`.
    """
    decomposed = unicodedata.normalize("NFKD", business.translate(_SPELLED))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    name = " ".join(_NOT_ALLOWED.sub("", plain.replace("-", " ").replace("_", " ")).split())
    return name if sender_name_problem(name) is None else DEFAULT_SENDER_NAME
