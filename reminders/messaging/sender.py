"""The sender name an SMS shows instead of a number (an alphanumeric sender ID). Pure.

Carriers accept at most 11 characters from the GSM-7 basic Latin letters and digits; many also
take spaces. A name of digits only would be read as a phone number, so at least one letter is
required. Accents and punctuation are refused rather than replaced: what the client sees must be
exactly what the business typed.
"""

from __future__ import annotations

import re
from typing import Final

from reminders.msgid import N_

__all__ = ["SENDER_MAX_LENGTH", "clean_sender_name", "sender_name_problem"]

SENDER_MAX_LENGTH: Final = 11
_ALLOWED: Final = re.compile(r"[A-Za-z0-9 ]+")
_LETTER: Final = re.compile(r"[A-Za-z]")


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
