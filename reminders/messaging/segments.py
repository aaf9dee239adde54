"""SMS encoding and segment counting (GSM 03.38 / 3GPP TS 23.038), and GSM-7-safe normalisation.

A message that uses only the GSM-7 default alphabet and its extension table is sent in GSM-7:
160 septets in one SMS, or parts of 153 septets when concatenated (the user data header takes
the rest). Extension characters cost an escape septet plus the character. Any other character
switches the whole message to UCS-2 (in practice UTF-16): 70 code units in one SMS, 67 per part.

Parts are filled greedily, character by character, because a sending gateway must not split an
escape sequence or a surrogate pair across two parts; this is why a message can need one part
more than ``ceil(units / per_part)``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

GSM7_SINGLE: Final = 160
GSM7_PART: Final = 153
UCS2_SINGLE: Final = 70
UCS2_PART: Final = 67

# The default alphabet in code order (0x00-0x7F), with 0x1B (escape to the extension table)
# left out: a raw ESC in the text is not something a user can mean to send.
_GSM7_BASIC: Final = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# Extension table: each costs two septets (ESC + code). \f is form feed (0x1B 0x0A).
_GSM7_EXTENSION: Final = "\f^{}\\[~]|€"

GSM7_BASIC: Final = frozenset(_GSM7_BASIC)
GSM7_EXTENSION: Final = frozenset(_GSM7_EXTENSION)


class Encoding(StrEnum):
    """How a message goes over the air."""

    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """Cost of one message.

    ``units`` are septets for GSM-7 (extension characters count 2) and UTF-16 code units for
    UCS-2 (characters outside the BMP, e.g. emoji, count 2). The empty message has 0 segments:
    nothing is sent, nothing is billed. ``per_segment`` is the capacity that applies to this
    message: 160/70 while it fits one SMS (also for the empty message), else 153/67.
    ``non_gsm_chars`` are the distinct characters that forced UCS-2, in order of appearance.
    """

    encoding: Encoding
    units: int
    segments: int
    per_segment: int
    non_gsm_chars: tuple[str, ...]


def is_gsm7(text: str) -> bool:
    """True if every character of ``text`` can be sent in GSM-7."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _gsm7_cost(ch: str) -> int:
    return 2 if ch in GSM7_EXTENSION else 1


def _ucs2_cost(ch: str) -> int:
    # Astral characters need a surrogate pair. A lone surrogate (possible in a Python str,
    # e.g. from a broken client) is a single code unit; the gateway will have to replace it,
    # but counting it as 1 never under-estimates what a valid replacement character costs.
    return 2 if ord(ch) > 0xFFFF else 1


def _pack(costs: Iterable[int], part: int) -> int:
    """Number of parts of capacity ``part`` when items must not straddle a part boundary."""
    parts, used = 1, 0
    for cost in costs:
        if used + cost > part:
            parts += 1
            used = 0
        used += cost
    return parts


def count_segments(text: str) -> SegmentInfo:
    """Encoding, length in units and number of SMS parts needed to send ``text``. Never raises."""
    non_gsm = tuple(dict.fromkeys(ch for ch in text if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION))
    if non_gsm:
        encoding, cost, single, part = Encoding.UCS2, _ucs2_cost, UCS2_SINGLE, UCS2_PART
    else:
        encoding, cost, single, part = Encoding.GSM7, _gsm7_cost, GSM7_SINGLE, GSM7_PART
    costs = [cost(ch) for ch in text]
    units = sum(costs)
    if units == 0:
        segments, per_segment = 0, single
    elif units <= single:
        segments, per_segment = 1, single
    else:
        segments, per_segment = _pack(costs, part), part
    return SegmentInfo(encoding, units, segments, per_segment, non_gsm)


# Typographic characters with an unambiguous plain GSM-7 equivalent.
_PUNCTUATION: Final = {
    **dict.fromkeys("‘’‚‛′‹›`´", "'"),
    **dict.fromkeys("“”„‟″«»", '"'),
    **dict.fromkeys("‐‑‒–—―−•‣◦⁃", "-"),
    "…": "...",
    # No-break, thin, narrow, figure, em/en and other fixed-width spaces, and tab.
    **dict.fromkeys("\t\u00a0\u202f\u205f", " "),
    **{chr(cp): " " for cp in range(0x2000, 0x200B)},
    "\u2028": "\n",
    "\u2029": "\n",
    # Invisible: zero-width space, word joiner, BOM, soft hyphen. ZWJ/ZWNJ are kept on purpose:
    # they are part of emoji sequences and of Arabic/Indic scripts, which stay UCS-2 anyway.
    **dict.fromkeys("\u200b\u2060\ufeff\u00ad", ""),
}

# Latin letters outside GSM-7 whose accent-less form is the customary SMS spelling in the
# languages we serve (fr, it, de, en, and es/pt names). Letters that are GSM-7 (é è ù ì ò à,
# É, ä ö ü ñ, Ä Ö Ü Ñ, Å å Ø ø Æ æ ß) are never touched. ç becomes Ç because GSM code 0x09 is
# rendered as ç by most phones and is the usual mapping. Œ/œ are spelled out, as French does
# when the ligature is unavailable.
_LETTERS: Final = {
    "ç": "Ç",
    **dict.fromkeys("áâã", "a"),
    **dict.fromkeys("êë", "e"),
    **dict.fromkeys("íîï", "i"),
    **dict.fromkeys("óôõ", "o"),
    **dict.fromkeys("úû", "u"),
    **dict.fromkeys("ýÿ", "y"),
    **dict.fromkeys("ÀÁÂÃ", "A"),
    **dict.fromkeys("ÈÊË", "E"),
    **dict.fromkeys("ÌÍÎÏ", "I"),
    **dict.fromkeys("ÒÓÔÕ", "O"),
    **dict.fromkeys("ÙÚÛ", "U"),
    **dict.fromkeys("ÝŸ", "Y"),
    "œ": "oe",
    "Œ": "OE",
}

_TABLE: Final = str.maketrans({**_PUNCTUATION, **_LETTERS})
_CRLF: Final = re.compile(r"\r\n")


def normalize_for_gsm(text: str) -> str:
    """Replace typographic characters and a few accented Latin letters by GSM-7 equivalents.

    Applies Unicode NFC first (canonical equivalence only: a decomposed ``e`` + combining acute
    becomes the GSM-7 ``é``, nothing visible changes), maps the tables above, and turns CRLF into
    LF (one character less, same line break). Other scripts and emoji are left alone; they keep
    the message in UCS-2, which is correct. Idempotent: ``f(f(x)) == f(x)``.
    """
    # Dropping an accent can let a following combining mark compose with the bare letter
    # (e.g. "ê" + combining diaeresis -> "e" + diaeresis -> "ë"), and "\r\r\n" leaves a new
    # CRLF, so repeat until nothing changes. Replacements are never keys of the table, so after
    # the first round a round changes the text only by shortening it (a composition or a CRLF):
    # this terminates.
    while True:
        result = _CRLF.sub("\n", unicodedata.normalize("NFC", text).translate(_TABLE))
        if result == text:
            return result
        text = result
