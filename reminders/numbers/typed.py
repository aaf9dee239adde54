"""Reading a phone number a person typed into a form (not found in free text: see appointments.phones).

A typed number is one number and nothing else, so it is parsed directly instead of searched for;
the result is E.164, formatted exactly as `appointments.phones` stores recipients, so that a
blocked number and an appointment's recipient compare equal as strings.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from reminders.accounts.service import FormErrors
from reminders.msgid import N_

# Digits and what people put between them; letters would let "1-800-FLOWERS"-style
# vanity spelling turn a typo into some other valid number.
_TYPED = re.compile(r"[+＋\d\s().\-/]+")
MAX_TYPED = 40


def to_e164(text: str, region: str) -> str:
    """The number in E.164 ("+41791234567"); `FormErrors` on "number" says what is wrong.

    A number without a country code is read in `region` (the account's home region). Any valid
    number is accepted, landlines too: blocking one does no harm, and the lists are the owner's.
    """
    typed = text.strip()
    if not typed:
        raise FormErrors({"number": N_("Enter a phone number.")})
    if len(typed) > MAX_TYPED or not _TYPED.fullmatch(typed) or not any(c.isdigit() for c in typed):
        raise FormErrors(
            {
                "number": N_(
                    "Enter only the phone number: digits, spaces and a leading + for the country code."
                )
            }
        )
    try:
        number = phonenumbers.parse(typed, region.upper())
    except NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise FormErrors(
            {
                "number": N_(
                    "This is not a valid phone number. A number of another country needs its "
                    "country code, e.g. +33 6 12 34 56 78."
                )
            }
        )
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def readable(e164: str) -> str:
    """The stored number grouped for reading ("+41 79 123 45 67"); unchanged if it cannot be parsed."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164, None), PhoneNumberFormat.INTERNATIONAL)
    except NumberParseException:
        return e164
