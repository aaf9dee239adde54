"""Hiding clients' phone numbers in what staff and pages see.

Numbers keep their country code and last two digits (`+41•••••••67`), enough to tell two
clients apart and to match a complaint, not enough to text or call anyone. Free text (an
appointment title such as "Kontrolle 079 123 45 67") gets every long digit run masked the same
way: a cheap regex instead of the phone matcher, because it runs on every row of a page.
"""

from __future__ import annotations

import re

# Nine or more digits, optionally with "+" and the separators people write between groups.
# Shorter runs (dates like 25.11.2026, times, prices, postal codes) stay readable.
_LONG_DIGIT_RUN = re.compile(r"(?<![\w+])\+?\d(?:[ \-./()]{0,2}\d){8,}")
# What a phone number looks like in a log line: international (+41 79 …), or a national number
# with at most spaces inside (079 123 45 67). Dates and times (2026-12-03 14:00) are not.
_PHONE_NUMBER = re.compile(r"(?<![\w+])(?:\+\d(?:[ ./()-]{0,2}\d){7,14}|0\d(?: ?\d){8,10})(?![\w])")
_KEEP = 2


def mask_digits(text: str) -> str:
    """`text` with every digit but the last two of each long digit run replaced by "•"."""
    return _LONG_DIGIT_RUN.sub(_mask_run, text)


def mask_phone_numbers(text: str) -> str:
    """`text` with every phone number but its last two digits replaced by "•" (for logs)."""
    return _PHONE_NUMBER.sub(_mask_run, text)


def _mask_run(match: re.Match[str]) -> str:
    run = match.group()
    total = sum(char.isdigit() for char in run)
    seen = 0
    masked = []
    for char in run:
        if char.isdigit():
            seen += 1
            masked.append(char if seen > total - _KEEP else "•")
        else:
            masked.append(char)
    return "".join(masked)


def mask_number(number: str | None) -> str:
    """A phone number with all but the country code and the last two digits hidden."""
    if not number:
        return "–"
    keep = 3 if number.startswith("+") else 0
    return number[:keep] + "•" * max(len(number) - keep - 2, 0) + number[-2:]
