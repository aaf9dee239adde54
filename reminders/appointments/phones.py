"""Finding the client's mobile number in an appointment's location, title or description.

Pure: no I/O. Google's metadata (the `phonenumbers` library) decides what is a valid number and
whether it is a mobile; this module decides which digits in free text are meant as a phone number
at all. Dates, times, prices, postal codes, IBANs, AHV and health-insurance card numbers are
blanked out before the matcher runs, and numbers right after "Order #", "Ref." or "Kunden-Nr." are
ignored, so an invoice number that happens to look like a mobile is never texted. A number typed
against a word ("Tel079 …", "… 44Brunner") is read as if a space were there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

import phonenumbers
from phonenumbers import Leniency, PhoneNumberFormat, PhoneNumberMatcher, PhoneNumberType

from connectors.calendars.base import PHONE_FIELDS
from reminders.appointments.text import MAX_HTML_CHARS, html_to_text
from reminders.reasons import NoRecipientReason

__all__ = [
    "PHONE_FIELDS",
    "RecipientResult",
    "find_in_text",
    "find_recipient",
    "is_sendable",
    "remove_phone_numbers",
]

# Text examined per field after HTML reduction: a number is at the start of a field in practice,
# and the matcher's cost grows with the text.
MAX_SCAN_CHARS = 20_000

_SENDABLE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})

# Most useful first: the enum's order is the priority order.
_PRIORITY = {reason: rank for rank, reason in enumerate(NoRecipientReason)}


@dataclass(frozen=True, slots=True)
class RecipientResult:
    """The number to text and the field it came from, or why there is none."""

    number: str | None
    source: str | None
    reason: NoRecipientReason | None


def is_sendable(number: phonenumbers.PhoneNumber) -> bool:
    """Whether the number can receive SMS: valid and a mobile (or a US-style mobile-or-fixed)."""
    return phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in _SENDABLE_TYPES


def find_recipient(
    fields: Mapping[str, str | None],
    enabled: Sequence[str] = PHONE_FIELDS,
    region: str = "CH",
) -> RecipientResult:
    """The first sendable number in the enabled fields (in the given order), or the best reason.

    `not_in_enabled_fields` means a sendable number sits in one of the other fields, which the
    business can fix by enabling that field. Raises ValueError for an unknown region.
    """
    region = _region(region)
    order = list(dict.fromkeys(enabled))
    reasons: list[NoRecipientReason] = []
    for name in order:
        number, reason = find_in_text(fields.get(name) or "", region)
        if number is not None:
            return RecipientResult(number=number, source=name, reason=None)
        if reason is not None:
            reasons.append(reason)
    others = [name for name in (*PHONE_FIELDS, *fields) if name not in order]
    for name in dict.fromkeys(others):
        if find_in_text(fields.get(name) or "", region)[0] is not None:
            return RecipientResult(number=None, source=None, reason=NoRecipientReason.NOT_IN_ENABLED_FIELDS)
    best = min(reasons, key=_PRIORITY.__getitem__, default=NoRecipientReason.NO_NUMBER)
    return RecipientResult(number=None, source=None, reason=best)


def find_in_text(text: str, region: str) -> tuple[str | None, NoRecipientReason | None]:
    """The first sendable number (E.164) in one field's text, or None and the best reason.

    The reason is None exactly when a number is returned. HTML is reduced to text first.
    Raises ValueError for an unknown region; never for any text.
    """
    region = _region(region)
    findings = _scan(_field_text(text), region)
    for finding in findings:
        if finding.reason is None:
            return finding.number, None
    reasons = [finding.reason for finding in findings if finding.reason is not None]
    return None, min(reasons, key=_PRIORITY.__getitem__, default=NoRecipientReason.NO_NUMBER)


def remove_phone_numbers(text: str, region: str) -> str:
    """The text (HTML reduced) without its phone numbers, sendable or not, and their labels.

    Separators and brackets left behind are tidied: "Max Muster (Tel. 079 123 45 67)" becomes
    "Max Muster". Decoys (dates, prices, order numbers) stay. Only the first `MAX_SCAN_CHARS`
    characters are searched. Raises ValueError for an unknown region; never for any text.
    """
    region = _region(region)
    reduced = html_to_text(text)
    head, tail = reduced[:MAX_SCAN_CHARS], reduced[MAX_SCAN_CHARS:]
    findings = _scan(head, region)
    if not findings:
        return reduced
    result = ""
    position = 0
    for index, finding in enumerate(findings):
        between = head[position : max(position, finding.label_start)]
        if index and not between.strip(_SEPARATORS + " \t"):
            between = ""  # "079 … / 044 …": the slash went with the numbers
        result = _join(result, between)
        position = max(position, finding.end)
    result = _join(result, head[position:])
    return result.strip() + tail


def _region(region: str) -> str:
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown region {region!r}: expected a two-letter country code such as 'CH'")
    return code


def _field_text(text: str) -> str:
    reduced = html_to_text(text[:MAX_HTML_CHARS])
    if len(reduced) > MAX_SCAN_CHARS:
        # A number cut in half at the limit would read as an invalid one. Only the last few
        # characters are looked at: a regex anchored at the end of a long digit run is quadratic.
        head, end = reduced[: MAX_SCAN_CHARS - 40], reduced[MAX_SCAN_CHARS - 40 : MAX_SCAN_CHARS]
        reduced = head + re.sub(r"[+\d(][\d ./()-]*$", "", end)
    return reduced


# --- Decoys -------------------------------------------------------------------------------------
# Digit runs that are something else. They are blanked with line breaks (same length, so positions
# stay valid): a line break ends a phone-number candidate for the matcher and ends the label
# context below, and "14:30 079 123 45 67" no longer reads as one long invalid number.


def _valid_date(match: re.Match[str]) -> bool:
    day, month = int(match.group("day")), int(match.group("month"))
    return 1 <= day <= 31 and 1 <= month <= 12


def _valid_time(match: re.Match[str]) -> bool:
    return int(match.group("hour")) <= 24 and int(match.group("minute") or 0) <= 59


def _health_card(match: re.Match[str]) -> bool:
    return re.sub(r"\D", "", match.group()).startswith("80756")


# Not preceded by another digit group: "4567 Praxis" in "044 123 4567 Praxis" is part of a number.
_NOT_AFTER_DIGITS = r"(?<!\d[ ./-])(?<![\d'’.,+])"
_AMOUNT = r"(?:0|[1-9]\d{0,2}(?:['’]\d{3})+|[1-9]\d*)"
_CURRENCY = r"(?:CHF|SFr\.?|Fr\.|EUR|USD|GBP|Franken|Euro|€|\$|£)"

_DECOYS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], bool] | None], ...] = (
    # IBAN, e.g. CH93 0076 2011 6238 5295 7
    (re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"), None),
    # AHV/AVS social security number, e.g. 756.1234.5678.97
    (re.compile(r"\b756[. ]?\d{4}[. ]?\d{4}[. ]?\d{2}\b"), None),
    # Swiss company number, e.g. CHE-123.456.789
    (re.compile(r"\bCHE[- ]?\d{3}[. ]?\d{3}[. ]?\d{3}\b"), None),
    # ISO date and date-time, e.g. 2026-11-25, 2026-11-25T14:30:00+01:00, 2026/11/25
    (
        re.compile(
            r"\b\d{4}(?P<sep>[-/])\d{1,2}(?P=sep)\d{1,2}"
            r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?!\d)"
        ),
        None,
    ),
    # Day-month-year, e.g. 25.11.2026, 25/11/26, 25-11-2026, 25. 11. 2026
    (
        re.compile(r"\b(?P<day>\d{1,2})(?P<sep>[./-])(?P<month>\d{1,2})(?P=sep)(?:\d{4}|\d{2})(?!\d)"),
        _valid_date,
    ),
    (re.compile(r"\b(?P<day>\d{1,2})\. (?P<month>\d{1,2})\. ?(?:\d{4}|\d{2})(?!\d)"), _valid_date),
    # Day and month without year, e.g. "am 25.11."
    (re.compile(r"\b(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?![\d])"), _valid_date),
    # Times, e.g. 14:30, 14:30:00, 2:30 pm, 14.30 Uhr, 14h30, 14 Uhr
    (
        re.compile(
            r"\b(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::\d{2})?(?:\s?(?:[ap]\.?m\b\.?|uhr\b|h\b))?",
            re.IGNORECASE,
        ),
        _valid_time,
    ),
    (
        # Not "12 am": German "am Montag" after a number.
        re.compile(r"\b(?P<hour>\d{1,2})(?:[.h](?P<minute>\d{2}))?\s?(?:uhr|h)\b", re.IGNORECASE),
        _valid_time,
    ),
    (re.compile(r"\b(?P<hour>\d{1,2})h(?P<minute>\d{2})\b"), _valid_time),
    # Prices, e.g. CHF 120.00, Fr. 45.–, € 45,50, 1'200.– CHF, 120.-
    (
        re.compile(
            rf"(?:\b(?:CHF|SFr|Fr|EUR|USD|GBP)\.?|[€$£])\s?{_AMOUNT}(?:[.,](?:\d{{1,2}}|[-–—]{{1,2}}))?(?!\d)"
        ),
        None,
    ),
    (
        re.compile(rf"{_NOT_AFTER_DIGITS}\b{_AMOUNT}(?:[.,](?:\d{{2}}|[-–—]{{1,2}}))?\s?{_CURRENCY}"),
        None,
    ),
    (re.compile(rf"{_NOT_AFTER_DIGITS}\b{_AMOUNT}\.[-–—]{{1,2}}"), None),
    # Postal codes, e.g. CH-8001, D-80331, "8001 Zürich"
    (re.compile(r"\b(?:CH|FL|LI|DE?|FR?|AT?|IT?)-\d{4,5}\b"), None),
    (re.compile(rf"{_NOT_AFTER_DIGITS}\b\d{{4,5}}(?= +[A-ZÄÖÜÉÈÀÂ][^\W\dA-Z_])"), None),
    # Swiss health-insurance card number: 20 digits from "80756", e.g. 8075 6000 0100 1234 5678
    (re.compile(r"(?<![\d+＋])8(?:[ .-]?\d){19}(?!\d)"), _health_card),
    # More digits in one piece than any phone number has, even written with 00 (17)
    (re.compile(r"(?<!\d)\d{18,}(?!\d)"), None),
)


def _mask_decoys(text: str) -> str:
    chars = list(text)
    for pattern, accept in _DECOYS:
        for match in pattern.finditer(text):
            if accept is None or accept(match):
                chars[match.start() : match.end()] = "\n" * (match.end() - match.start())
    return "".join(chars)


# --- Numbers typed against a word ---------------------------------------------------------------
# The matcher refuses a number touching a Latin letter, which keeps codes such as "AB0791234567"
# out, but also loses "Tel079 667 05 15", "Anna079 …" and "078 903 17 44Brunner". Where the
# letters are a word (lower case or capitalised, or a label in any case) the letter next to the
# digits is read as a space; codes (all capitals, letters between digits) and e-mail or web
# addresses are left alone.

_GLUED_BEFORE = re.compile(r"(?<!\w)[^\W\d_]{2,}(?=[+＋]?\d)")
_GLUED_AFTER = re.compile(r"(?<=\d)[^\W\d_]{2,}(?!\w)")
_TOKEN = re.compile(r"\S+")
_MIN_GLUED_WORD = 3  # "Tel", "Anna"; two letters ("AB", "Bk") are more often a code


def _glued_word(word: str) -> bool:
    lower = word.lower()
    if _is_phone_word(lower) or lower in _NUMBER_WORDS or lower in _REFERENCE_WORDS:
        return True  # "TEL079 …", "NR079 …"; a reference word then marks the digits as one
    return len(word) >= _MIN_GLUED_WORD and (word.islower() or word.istitle())


def _unglue(text: str) -> str:
    """The text with the letter touching a number replaced by a space (same length)."""
    chars: list[str] | None = None
    address = bytearray(len(text))  # 1 inside an e-mail or web address
    for pattern, letter in ((_GLUED_BEFORE, -1), (_GLUED_AFTER, 0)):
        for match in pattern.finditer(text):
            if not _glued_word(match.group()):
                continue
            if chars is None:  # found once, only when needed; linear, as every step here
                chars = list(text)
                for token in _TOKEN.finditer(text):
                    word = token.group().lower()
                    if "@" in word or "://" in word or "www." in word:
                        address[token.start() : token.end()] = b"\x01" * (token.end() - token.start())
            if not address[match.start()]:
                chars[match.end() - 1 if letter else match.start()] = " "
    return text if chars is None else "".join(chars)


def _prepare(text: str) -> tuple[str, str]:
    """What the matcher reads and what labels are read from: both the text's length.

    Decoys are blanked in both. The matcher's text is unglued and searched for decoys once more,
    since "Datum25.11.2026" is a date only once the letters are apart; the labels' text keeps its
    letters, so "Tel079 …" still reads as labelled.
    """
    masked = _mask_decoys(text)
    spaced = _unglue(masked)
    if spaced == masked:
        return masked, masked
    spaced = _mask_decoys(spaced)
    labels = "".join("\n" if blank == "\n" else char for char, blank in zip(masked, spaced, strict=True))
    return spaced, labels


# --- What precedes a number ---------------------------------------------------------------------


class _Context(Enum):
    NONE = "none"
    PHONE = "phone"  # a phone label: "Tel.", "Natel", "Telefonnummer:", "Nr."
    COLON = "colon"  # "Kunde: 079 …": probably a phone, a weaker hint
    REFERENCE = "reference"  # "Order #", "Ref.", "Kunden-Nr.", "Bestellung": not a phone


# Words that label a phone number, alone or as the stem of a compound ("Handynummer", "Tel.-Nr.").
# Exact words, not prefixes: "Telemedizin 079 …" must not lose "Telemedizin" as a label.
_PHONE_WORDS = frozenset(
    {
        *("tel", "tél", "telefon", "telephon", "telephone", "téléphone", "telefono", "fon", "phone"),
        *("mobil", "mobile", "mob", "natel", "handy", "cell", "cellphone", "cellular", "cellulare"),
        *("portable", "ruf", "anruf", "anrufen", "rückruf", "call", "kontakt", "contact", "notfall"),
        *("notruf", "festnetz", "whatsapp", "sms", "fax"),
    }
)
_PHONE_SUFFIXES = ("telefon", "telephone", "phone", "handy")  # "Mobiltelefon", "Smartphone"
_NUMBER_WORDS = frozenset({"nr", "no", "nº", "n", "num", "nro", "nummer", "number", "numero", "numéro"})
_NUMBER_SUFFIXES = ("nummer", "number", "numero", "numéro", "nr")
# Words after which digits are a reference of some kind, never the client's phone.
_REFERENCE_WORDS = frozenset(
    {
        *("ref", "refs", "referenz", "reference", "référence", "rif", "riferimento", "order"),
        *("bestellung", "auftrag", "rechnung", "invoice", "facture", "commande", "fattura", "ordine"),
        *("ticket", "iban", "bic", "konto", "account", "vertrag", "contract", "police", "policy"),
        *("polizza", "sendung", "tracking", "transaktion", "transaction", "ahv", "avs", "buchung"),
        *("booking", "reservation", "reservierung", "dossier", "beleg", "quittung", "receipt"),
        *("lieferschein", "artikel", "article", "id", "uid", "mwst", "postfach"),
    }
)
_WORD = r"[^\W\d_]+"
_TAIL = re.compile(
    rf"(?:(?<![^\W\d_])(?P<w1>{_WORD})(?P<sep>[ .\-]{{1,3}}))?"
    rf"(?<![^\W\d_])(?P<w2>{_WORD})(?P<punct>[^\w\n]{{0,6}})$"
)


def _is_phone_word(word: str) -> bool:
    if word in _PHONE_WORDS or word.endswith(_PHONE_SUFFIXES):
        return True
    stem = re.sub(r"(?:nummer|number|numero|numéro|nr)$", "", word)
    return stem != word and stem in _PHONE_WORDS


def _context(text: str, start: int) -> tuple[_Context, int]:
    """What the words right before `start` (same line) say, and where a phone label begins."""
    begin = max(0, start - 48)
    newline = text.rfind("\n", begin, start)
    tail = text[newline + 1 if newline >= 0 else begin : start]
    offset = start - len(tail)
    if tail.rstrip().endswith("#"):
        return _Context.REFERENCE, start
    match = _TAIL.search(tail)
    if match is None:
        return (_Context.COLON if tail.rstrip().endswith(":") else _Context.NONE), start
    w1, w2 = (match.group("w1") or "").lower(), match.group("w2").lower()
    if "#" in match.group("punct"):
        return _Context.REFERENCE, start
    if w2 in _NUMBER_WORDS:
        if not w1:
            return _Context.PHONE, offset + match.start("w2")
        # "Tel.-Nr." is a phone label; "Kunden-Nr.", "Bestellung Nr." are references.
        if _is_phone_word(w1):
            return _Context.PHONE, offset + match.start("w1")
        return _Context.REFERENCE, start
    if _is_phone_word(w2):
        label = match.start("w1") if w1 and _is_phone_word(w1) else match.start("w2")
        return _Context.PHONE, offset + label
    if w2 in _REFERENCE_WORDS or (w2.endswith(_NUMBER_SUFFIXES) and w2 not in _NUMBER_WORDS):
        return _Context.REFERENCE, start  # "Kundennummer", "Bestellnr"
    return (_Context.COLON if ":" in match.group("punct") else _Context.NONE), start


# --- Scanning -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Finding:
    start: int
    end: int
    label_start: int  # where the phone label before the number begins (== start when none)
    number: str | None  # E.164 when valid
    reason: NoRecipientReason | None  # None: sendable


# A run of digit groups as people write phone numbers: "+41 (0)79 123 45 67", "079/123.45.67".
_RUN = re.compile(r"(?<![\w+＋])(?:[+＋] ?|\( ?)?\d+(?:[ \t\-./()\u2010-\u2015\u2212\uff0d]{1,3}\d+)*\)?")
_MIN_LABELLED_DIGITS = 5  # "Tel: 079 12" is an attempt at a number; "Tel: 144" a short code
_MIN_COLON_DIGITS = 7  # "Zimmer: 204" is not
_MAX_NUMBER_DIGITS = 15  # E.164
_RUN_SEPARATORS = " \t-./()\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d"
# Splitting tries a piece from each start to each later digit group: only short runs qualify.
_MAX_SPLIT_RUN = 80
_MAX_SPLIT_STARTS = 6
_MAX_SPLIT_TRIES = 500  # per field; a real field needs a handful


def _finding(start: int, end: int, label_start: int, number: phonenumbers.PhoneNumber) -> _Finding:
    return _Finding(
        start=start,
        end=end,
        label_start=label_start,
        number=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        reason=None if is_sendable(number) else NoRecipientReason.LANDLINE,
    )


def _scan(text: str, region: str) -> list[_Finding]:
    """Every phone number meant as one in the text, valid or not, in text order."""
    masked, labels = _prepare(text)
    findings: list[_Finding] = []
    covered: list[tuple[int, int]] = []
    for match in PhoneNumberMatcher(masked, region, leniency=Leniency.VALID):
        covered.append((match.start, match.end))
        context, label_start = _context(labels, match.start)
        if context is not _Context.REFERENCE:
            findings.append(_finding(match.start, match.end, label_start, match.number))
    budget = _Budget(_MAX_SPLIT_TRIES)
    # The rest of each digit run, beside what the matcher read: "079 … 079 … / 079 …" is one run
    # of which the matcher reads only the part after the slash.
    index = 0
    for run in _RUN.finditer(masked):
        while index < len(covered) and covered[index][1] <= run.start():
            index += 1
        position = run.start()
        for start, end in covered[index:]:
            if start >= run.end():
                break
            findings.extend(_read_run(masked, labels, position, start, region, budget))
            position = max(position, end)
        findings.extend(_read_run(masked, labels, position, run.end(), region, budget))
    return sorted(findings, key=lambda finding: finding.start)


def _read_run(masked: str, labels: str, start: int, end: int, region: str, budget: _Budget) -> list[_Finding]:
    """Numbers in the digit runs between `start` and `end` that the matcher did not read."""
    findings: list[_Finding] = []
    for run in _RUN.finditer(masked, start, end):
        context, label_start = _context(labels, run.start())
        pieces = _split_run(run, region, context, label_start, budget)
        if context is _Context.REFERENCE:
            # Only the first piece is the order number: "Order #0791234567 079 123 45 67".
            findings.extend(piece for piece in pieces if piece.start > run.start())
        elif pieces:
            findings.extend(pieces)
        elif _meant_as_phone(run.group(), context):
            findings.append(_Finding(run.start(), run.end(), label_start, None, NoRecipientReason.INVALID))
    return findings


class _Budget:
    """Matcher calls left for splitting runs in one field, so a hostile text cannot take long."""

    def __init__(self, tries: int) -> None:
        self.tries = tries

    def spend(self) -> bool:
        self.tries -= 1
        return self.tries >= 0


def _split_run(
    run: re.Match[str], region: str, context: _Context, label_start: int, budget: _Budget
) -> list[_Finding]:
    """Valid numbers inside a run the matcher read as one invalid number.

    "Zimmer 12 079 123 45 67" and "079 123 45 67 044 123 45 67" are one digit run to the
    matcher. A group starting with the trunk prefix 0 after a space is where people start a
    number, so the run is cut there: the longest valid piece from each such start is taken, and
    pieces left over that are clearly meant as phones ("+41 79 123 079 …") count as invalid.
    Empty when no piece is valid.
    """
    text = run.group()
    if len(text) > _MAX_SPLIT_RUN:
        return []
    groups = [(group.start(), group.end()) for group in re.finditer(r"\d+", text)]
    starts = [0] + [
        index
        for index, (start, _) in enumerate(groups)
        if index > 0 and text[start] == "0" and text[start - 1] in " \t"
    ]
    if len(starts) < 2 or len(starts) > _MAX_SPLIT_STARTS:
        return []
    found: list[_Finding] = []
    position = 0  # index into starts
    while position < len(starts):
        first = starts[position]
        offset = 0 if first == 0 else groups[first][0]  # the first piece keeps its "+" or "("
        begin = run.start() + offset
        label = label_start if first == 0 else begin
        for last in range(len(groups) - 1, first - 1, -1):
            if not budget.spend():
                return found if any(finding.number is not None for finding in found) else []
            number = _whole_match(text[offset : groups[last][1]], region)
            if number is not None:
                found.append(_finding(begin, run.start() + groups[last][1], label, number))
                position = next((p for p, index in enumerate(starts) if index > last), len(starts))
                break
        else:
            stop = groups[starts[position + 1]][0] if position + 1 < len(starts) else len(text)
            piece = text[offset:stop].rstrip(_RUN_SEPARATORS)
            if _meant_as_phone(piece, context if first == 0 else _Context.NONE):
                found.append(_Finding(begin, begin + len(piece), label, None, NoRecipientReason.INVALID))
            position += 1
    return found if any(finding.number is not None for finding in found) else []


def _whole_match(piece: str, region: str) -> phonenumbers.PhoneNumber | None:
    """The number when the matcher reads the whole piece as one valid number."""
    piece = piece.rstrip(_RUN_SEPARATORS)
    for match in PhoneNumberMatcher(piece, region, leniency=Leniency.VALID):
        if match.start <= 1 and not any(char.isdigit() for char in piece[match.end :]):
            return match.number
        break
    return None


def _meant_as_phone(candidate: str, context: _Context) -> bool:
    digits = sum(char.isdigit() for char in candidate)
    international = candidate.lstrip("( ").startswith(("+", "＋", "00"))
    # Longer than any number (15 digits with the country code, besides a 00 and a "(0)") is a
    # card or account number, not a phone number typed wrong.
    significant = digits - (2 if candidate.lstrip("( ").startswith("00") else 0) - ("(0)" in candidate)
    if significant > _MAX_NUMBER_DIGITS:
        return False
    if context is _Context.PHONE or international:
        return digits >= _MIN_LABELLED_DIGITS
    return context is _Context.COLON and digits >= _MIN_COLON_DIGITS


# --- Tidying after removal ----------------------------------------------------------------------

_SEPARATORS = ",;/|·•–—-"
_CLOSING = {")": "(", "]": "[", "}": "{"}


def _join(left: str, right: str) -> str:
    """Join the text around a removed number without leaving doubled separators or empty brackets."""
    left, right = left.rstrip(" \t"), right.lstrip(" \t")
    if left and right and left[-1] in "([{" and right[0] in ")]}":
        left, right = left[:-1].rstrip(" \t"), right[1:].lstrip(" \t")
    elif right and right[0] in _CLOSING:
        # The matcher takes "(" into the number ("Max (079 …)"), which orphans the ")".
        line = left[left.rfind("\n") + 1 :]
        opening = _CLOSING[right[0]]
        if line.count(opening) <= line.count(right[0]):
            right = right[1:].lstrip(" \t")
    if not left or left.endswith("\n"):
        right = right.lstrip(_SEPARATORS + ": \t")
    if not right or right.startswith("\n"):
        left = left.rstrip(_SEPARATORS + ": \t")
    if left and right and left[-1] in _SEPARATORS and right[0] in _SEPARATORS:
        right = right[1:].lstrip(" \t")
    if left.endswith("\n") and right.startswith("\n"):
        right = right[1:]
    if not left or not right or left.endswith("\n") or right.startswith("\n") or right[0] in ",;.:!?)]}":
        return left + right
    return f"{left} {right}"
