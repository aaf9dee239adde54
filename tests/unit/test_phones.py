"""Finding the client's mobile number in calendar fields (reminders.appointments.phones)."""

from __future__ import annotations

import io
import json

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.calendars.base import PHONE_FIELDS
from reminders.appointments.phones import (
    RecipientResult,
    find_in_text,
    find_recipient,
    is_sendable,
    remove_phone_numbers,
)
from reminders.appointments.phones_check import check_lines
from reminders.appointments.text import html_to_text
from reminders.reasons import NoRecipientReason

LANDLINE = NoRecipientReason.LANDLINE
INVALID = NoRecipientReason.INVALID
NO_NUMBER = NoRecipientReason.NO_NUMBER
NOT_ENABLED = NoRecipientReason.NOT_IN_ENABLED_FIELDS

MOBILE = "+41791234567"


def case(
    text: str, number: str | None, reason: NoRecipientReason | None, id: str, region: str = "CH"
) -> object:
    return pytest.param(text, region, number, reason, id=id)


# One field's text → the first sendable number or the reason there is none.
TEXT_CASES = [
    # Swiss mobiles in the formats people type.
    case("079 123 45 67", MOBILE, None, "ch-mobile-spaces"),
    case("079/123 45 67", MOBILE, None, "ch-mobile-slash"),
    case("0791234567", MOBILE, None, "ch-mobile-compact"),
    case("079.123.45.67", MOBILE, None, "ch-mobile-dots"),
    case("079-123-45-67", MOBILE, None, "ch-mobile-dashes"),
    case("(079) 123 45 67", MOBILE, None, "ch-mobile-parenthesised-prefix"),
    case("+41 79 123 45 67", MOBILE, None, "ch-mobile-plus"),
    case("+41791234567", MOBILE, None, "ch-mobile-e164"),
    case("+41 (0)79 123 45 67", MOBILE, None, "ch-mobile-plus-trunk-zero"),
    case("0041 79 123 45 67", MOBILE, None, "ch-mobile-00-prefix"),
    case("41791234567", MOBILE, None, "ch-mobile-country-code-without-plus"),
    case("41 79 123 45 67", MOBILE, None, "ch-mobile-country-code-without-plus-spaced"),
    case("075 412 34 56", "+41754123456", None, "ch-mobile-075"),
    case("076 412 34 56", "+41764123456", None, "ch-mobile-076"),
    case("077 412 34 56", "+41774123456", None, "ch-mobile-077"),
    case("078 412 34 56", "+41784123456", None, "ch-mobile-078"),
    case("＋４１ ７９ １２３ ４５ ６７", MOBILE, None, "ch-mobile-fullwidth"),
    case("+41 79 123 45 67 ext. 12", MOBILE, None, "ch-mobile-extension"),
    case("Anna Muster, Natel 079 123 45 67, Dentalhygiene", MOBILE, None, "ch-mobile-in-title"),
    case("Tel.: 079 123 45 67", MOBILE, None, "ch-mobile-labelled"),
    case("Zimmer 12 079 123 45 67", MOBILE, None, "ch-mobile-after-room-number"),
    case("Max Muster 079 123 45 12 am Montag", "+41791234512", None, "ch-mobile-before-german-am"),
    case("Reflexzonenmassage 079 123 45 67", MOBILE, None, "ch-mobile-after-word-starting-with-ref"),
    # Landlines and other numbers that cannot receive SMS.
    case("044 123 45 67", None, LANDLINE, "ch-landline-zurich"),
    case("031 123 45 67", None, LANDLINE, "ch-landline-bern"),
    case("+41 44 123 45 67", None, LANDLINE, "ch-landline-plus"),
    case("0041 31 123 45 67", None, LANDLINE, "ch-landline-00"),
    case("0800 123 456", None, LANDLINE, "ch-toll-free"),
    case("0900 123 456", None, LANDLINE, "ch-premium-rate"),
    case("0848 123 456", None, LANDLINE, "ch-shared-cost"),
    case("058 123 45 67", None, LANDLINE, "ch-corporate-uan"),
    case("+41 878 123 456", None, LANDLINE, "ch-personal-numbering"),
    case("+49 30 1234567", None, LANDLINE, "de-landline"),
    case("+33 1 23 45 67 89", None, LANDLINE, "fr-landline"),
    # Foreign mobiles with + or 00.
    case("+49 151 23456789", "+4915123456789", None, "de-mobile-plus"),
    case("0049 151 23456789", "+4915123456789", None, "de-mobile-00"),
    case("+33 6 12 34 56 78", "+33612345678", None, "fr-mobile-plus"),
    case("0033 6 12 34 56 78", "+33612345678", None, "fr-mobile-00"),
    case("+39 347 123 4567", "+393471234567", None, "it-mobile"),
    case("+43 664 1234567", "+436641234567", None, "at-mobile"),
    case("+43 (0)664 1234567", "+436641234567", None, "at-mobile-trunk-zero"),
    case("+44 7911 123456", "+447911123456", None, "uk-mobile"),
    case("+1 212 555 0123", "+12125550123", None, "us-fixed-line-or-mobile"),
    case("+423 790 12 34", "+4237901234", None, "li-mobile"),
    # Numbers without a country code are read in the home region only, never guessed.
    case("0151 23456789", None, NO_NUMBER, "de-mobile-without-code-not-guessed"),
    case("Handy 0151 23456789", None, INVALID, "de-mobile-without-code-labelled-is-invalid"),
    case("06 12 34 56 78", None, LANDLINE, "fr-mobile-without-code-reads-as-basel-landline"),
    case("(212) 555-0123", None, NO_NUMBER, "us-without-code-not-guessed"),
    case("33612345678", None, NO_NUMBER, "foreign-code-without-plus-not-guessed"),
    case("0151 23456789", "+4915123456789", None, "de-region-reads-german-mobile", region="DE"),
    case("079 123 45 67", None, LANDLINE, "de-region-reads-079-as-german", region="DE"),
    case("212 555 0123", "+12125550123", None, "us-region", region="US"),
    # Clearly meant as a phone, but not a valid number.
    case("Tel: +41 79 123", None, INVALID, "invalid-too-short-plus"),
    case("Tel. 079 123 45", None, INVALID, "invalid-too-short-labelled"),
    case("Tel: 079 123 45 67 8", None, INVALID, "invalid-extra-digit"),
    case("Natel: 074 123 45 67", None, INVALID, "invalid-unassigned-range-labelled"),
    case("+41 74 123 45 67", None, INVALID, "invalid-unassigned-range-plus"),
    case("+44 7700 900123", None, INVALID, "invalid-uk-drama-range"),
    case("Mobile: 0791234", None, INVALID, "invalid-mobile-label"),
    case("0041 79 123", None, INVALID, "invalid-00-prefix"),
    case("Kunde: 079 123 45", None, INVALID, "invalid-after-colon"),
    case("074 123 45 67", None, NO_NUMBER, "unlabelled-invalid-is-no-number"),
    case("Zimmer: 204", None, NO_NUMBER, "short-number-after-colon"),
    case("Tel 144", None, NO_NUMBER, "short-code"),
    # HTML descriptions.
    case("<p>Max Muster</p><p>Tel: 079&nbsp;123&nbsp;45&nbsp;67</p>", MOBILE, None, "html-nbsp"),
    case("<div>Tel:&nbsp;&#43;41&nbsp;79&nbsp;123&nbsp;45&nbsp;67</div>", MOBILE, None, "html-entity-plus"),
    case('<a href="tel:+41791234567">Anrufen</a>', MOBILE, None, "html-tel-link-href"),
    case('<a href="tel:+41791234567">079 123 45 67</a>', MOBILE, None, "html-tel-link-text"),
    case("<div><span><b>079</b> 123</span> 45 67</div>", MOBILE, None, "html-nested-markup"),
    case("Praxis<br>044 123 45 67<br>Natel<br/>079 123 45 67", MOBILE, None, "html-br-lines"),
    case("<p>044 123 45 67</p>", None, LANDLINE, "html-landline"),
    case("<table><tr><td>Mobile</td><td>079 123 45 67</td></tr></table>", MOBILE, None, "html-table"),
    case("<p>x</p><!-- 079 123 45 67 -->", None, NO_NUMBER, "html-comment-is-not-text"),
    case("<p>x</p><script>var t = '0791234567';</script>", None, NO_NUMBER, "html-script-is-not-text"),
    # Decoys: digit runs that are not phone numbers.
    case("25.11.2026", None, NO_NUMBER, "decoy-date-dotted"),
    case("2026-11-25T14:30:00+01:00", None, NO_NUMBER, "decoy-iso-datetime"),
    case("25/11/26", None, NO_NUMBER, "decoy-date-slashed"),
    case("Termin am 25.11.2026 um 14:30", None, NO_NUMBER, "decoy-date-and-time"),
    case("14.30 Uhr", None, NO_NUMBER, "decoy-time-uhr"),
    case("8001 Zürich", None, NO_NUMBER, "decoy-postal-code"),
    case("CH-8001 Zürich", None, NO_NUMBER, "decoy-postal-code-prefixed"),
    case("Bahnhofstrasse 12, 8001 Zürich", None, NO_NUMBER, "decoy-address"),
    case("CHF 120.00", None, NO_NUMBER, "decoy-price-chf"),
    case("Preis: 120.-", None, NO_NUMBER, "decoy-price-dash"),
    case("€ 45,50", None, NO_NUMBER, "decoy-price-euro"),
    case("Fr. 1'250.–", None, NO_NUMBER, "decoy-price-thousands"),
    case("IBAN CH93 0076 2011 6238 5295 7", None, NO_NUMBER, "decoy-iban"),
    case("Bestellung 123456789", None, NO_NUMBER, "decoy-order-number"),
    case("Order #0791234567", None, NO_NUMBER, "decoy-order-hash-looks-like-mobile"),
    case("#0791234567", None, NO_NUMBER, "decoy-hash"),
    case("Ref. 0441234567", None, NO_NUMBER, "decoy-reference"),
    case("Kunden-Nr. 0791234567", None, NO_NUMBER, "decoy-customer-number"),
    case("Kundennummer: 0791234567", None, NO_NUMBER, "decoy-customer-number-compound"),
    case("Rechnung Nr. 0791234567", None, NO_NUMBER, "decoy-invoice-nr"),
    case("Invoice 0791234567", None, NO_NUMBER, "decoy-invoice"),
    case("AHV 756.1234.5678.97", None, NO_NUMBER, "decoy-ahv"),
    case("AHV-Nr.: 756.1234.5678.97", None, NO_NUMBER, "decoy-ahv-labelled-nr"),
    case("CHE-123.456.789 MWST", None, NO_NUMBER, "decoy-company-uid"),
    # Decoys next to a real number do not hide it.
    case("25.11.2026 14:30 079 123 45 67", MOBILE, None, "decoy-date-time-before-mobile"),
    case("079 123 45 67 14:30", MOBILE, None, "decoy-time-after-mobile"),
    case("Termin am 25.11. um 14 Uhr, 079 123 45 67", MOBILE, None, "decoy-day-month-before-mobile"),
    case("Order #0781234567, Tel 079 123 45 67", MOBILE, None, "decoy-order-before-mobile"),
    case("CHF 79.50, Natel 078 765 43 21", "+41787654321", None, "decoy-price-before-mobile"),
    case("8001 Zürich 079 123 45 67", MOBILE, None, "decoy-postal-code-before-mobile"),
    case("Tel.-Nr. 079 123 45 67", MOBILE, None, "tel-nr-is-a-phone-label"),
    case("Nr. 079 123 45 67", MOBILE, None, "bare-nr-is-a-phone-label"),
    # The first sendable number wins; earlier landlines or invalid numbers do not stop it.
    case("Tel 044 123 45 67, Natel 079 123 45 67", MOBILE, None, "landline-then-mobile"),
    case("0800 123 456 oder 079 123 45 67", MOBILE, None, "toll-free-then-mobile"),
    case("Tel: 074 123 45 67, 079 765 43 21", "+41797654321", None, "invalid-then-mobile"),
    case("079 123 45 67 / 078 765 43 21", MOBILE, None, "two-mobiles-first-wins"),
    case("078 765 43 21, 079 123 45 67", "+41787654321", None, "two-mobiles-order-matters"),
    case("079 123 45 67 044 123 45 67", MOBILE, None, "mobile-landline-single-space"),
    case("044 123 45 67 079 123 45 67", MOBILE, None, "landline-mobile-single-space"),
    case("Tel: 074 123 45 67 / 044 123 45 67", None, LANDLINE, "landline-beats-invalid"),
    # Numbers typed against a word, before or after (issue 10).
    case("Anna079 123 45 67", MOBILE, None, "glued-name-before"),
    case("Tel079 667 05 15", "+41796670515", None, "glued-label-before"),
    case("078 903 17 44Brunner", "+41789031744", None, "glued-name-after"),
    case("Anna079 123 45 67Brunner", MOBILE, None, "glued-both-sides"),
    case("Anna0791234567", MOBILE, None, "glued-name-before-compact"),
    case("Tel.+41 79 123 45 67", MOBILE, None, "glued-label-dot-plus"),
    case("Tel+41 79 123 45 67", MOBILE, None, "glued-label-plus"),
    case("Mobile:0791234567", MOBILE, None, "glued-label-colon"),
    case("TEL079 123 45 67", MOBILE, None, "glued-label-capitals"),
    case("Natel079/123 45 67", MOBILE, None, "glued-label-slash"),
    case("Anna Muster079 123 45 67, Kontrolle", MOBILE, None, "glued-in-title"),
    case("Termin25.11.2026 079 123 45 67", MOBILE, None, "glued-date-before-mobile"),
    case("Tel079 123 45", None, INVALID, "glued-label-too-short-is-invalid"),
    case("Anna079 123 45", None, NO_NUMBER, "glued-name-too-short-is-no-number"),
    # Words glued to digits that are not phone numbers stay unread.
    case("REF2024-1234", None, NO_NUMBER, "glued-booking-reference"),
    case("Ref0791234567", None, NO_NUMBER, "glued-reference-looks-like-mobile"),
    case("Buchung0791234567", None, NO_NUMBER, "glued-booking-looks-like-mobile"),
    case("Kundennr0791234567", None, NO_NUMBER, "glued-customer-number"),
    case("ABC0791234567", None, NO_NUMBER, "glued-capitals-code"),
    case("Bk0791234567", None, NO_NUMBER, "glued-two-letter-code"),
    case("AB12CD0791234567", None, NO_NUMBER, "glued-letters-between-digits"),
    case("xyz0791234567abc9", None, NO_NUMBER, "glued-inside-a-code"),
    case("anna0791234567@gmail.com", None, NO_NUMBER, "glued-in-an-email-address"),
    case("www.praxis0791234567.ch", None, NO_NUMBER, "glued-in-a-web-address"),
    case("Datum12.03.2026", None, NO_NUMBER, "glued-date"),
    case("12.03.2026", None, NO_NUMBER, "decoy-date-2026"),
    case("Zeit10:30-11:00", None, NO_NUMBER, "glued-time-range"),
    case("10:30-11:00", None, NO_NUMBER, "decoy-time-range"),
    case("PLZ8001 Zürich", None, NO_NUMBER, "glued-postal-code"),
    case("Preis120.-", None, NO_NUMBER, "glued-price"),
    case("CHF120.00", None, NO_NUMBER, "glued-price-chf"),
    case("756.1234.5678.97", None, NO_NUMBER, "decoy-ahv-unlabelled"),
    case("AHV756.1234.5678.97", None, NO_NUMBER, "glued-ahv"),
    case("CH93 0076 2011 6238 5295 7", None, NO_NUMBER, "decoy-iban-unlabelled"),
    case("IBANCH9300762011623852957", None, NO_NUMBER, "glued-iban"),
    # Long digit runs (a health-insurance card number) are no number, not an invalid one.
    case("80756000010012345678", None, NO_NUMBER, "health-card"),
    case("8075 6000 0100 1234 5678", None, NO_NUMBER, "health-card-in-fours"),
    case("80756 00001 00123 45678", None, NO_NUMBER, "health-card-in-fives"),
    case("Versichertenkarte: 80756000010012345678", None, NO_NUMBER, "health-card-after-colon"),
    case("Tel. 80756000010012345678", None, NO_NUMBER, "health-card-after-phone-label"),
    case("Karte: 8075 6000 0100 1234 5678", None, NO_NUMBER, "health-card-grouped-after-colon"),
    case("Kartennummer80756000010012345678", None, NO_NUMBER, "health-card-glued"),
    case("Kunde: 1234 5678 9012 3456 7890", None, NO_NUMBER, "long-grouped-digits-after-colon"),
    case("Karte: 4111 1111 1111 1111", None, NO_NUMBER, "payment-card-after-colon"),
    case("Tel: 123456789012345678901", None, NO_NUMBER, "long-digits-after-phone-label"),
    case("Anna 079 123 45 67 80756000010012345678", MOBILE, None, "mobile-then-health-card"),
    case("80756000010012345678 079 123 45 67", MOBILE, None, "health-card-then-mobile"),
    case("Tel: +41 79 123 45 67 8", None, INVALID, "invalid-extra-digit-plus"),
    case("+41 12 345 67 89", None, INVALID, "invalid-unassigned-plus"),
    # Odd text.
    case("", None, NO_NUMBER, "empty"),
    case("   \n\t ", None, NO_NUMBER, "whitespace"),
    case("Kontrolle, keine Nummer", None, NO_NUMBER, "no-digits"),
    case("\x00079 123 45 67\x07", MOBILE, None, "control-characters"),
    case("\ud800 079 123 45 67", MOBILE, None, "lone-surrogate"),
    case("079\u00a0123\u00a045\u00a067", MOBILE, None, "no-break-spaces"),
    case("079\u2009123\u200945\u200967", MOBILE, None, "thin-spaces"),
    case("079\u200b123\u200b45\u200b67", MOBILE, None, "zero-width-spaces"),
]


@pytest.mark.parametrize(("text", "region", "number", "reason"), TEXT_CASES)
def test_find_in_text(text: str, region: str, number: str | None, reason: NoRecipientReason | None) -> None:
    assert find_in_text(text, region) == (number, reason)


def test_case_table_is_large() -> None:
    assert len(TEXT_CASES) >= 70


LOCATION_MOBILE = "Praxis, 079 123 45 67"
TITLE_MOBILE = "Anna Muster 078 765 43 21"
DESCRIPTION_MOBILE = "<p>Bitte erinnern: <b>076 555 44 33</b></p>"


def found(number: str, source: str) -> RecipientResult:
    return RecipientResult(number=number, source=source, reason=None)


def missing(reason: NoRecipientReason) -> RecipientResult:
    return RecipientResult(number=None, source=None, reason=reason)


RECIPIENT_CASES = [
    pytest.param({"location": LOCATION_MOBILE}, PHONE_FIELDS, found(MOBILE, "location"), id="location"),
    pytest.param({"title": TITLE_MOBILE}, PHONE_FIELDS, found("+41787654321", "title"), id="title"),
    pytest.param(
        {"description": DESCRIPTION_MOBILE},
        PHONE_FIELDS,
        found("+41765554433", "description"),
        id="description",
    ),
    pytest.param(
        {"location": LOCATION_MOBILE, "title": TITLE_MOBILE},
        PHONE_FIELDS,
        found(MOBILE, "location"),
        id="first-enabled-field-wins",
    ),
    pytest.param(
        {"location": LOCATION_MOBILE, "title": TITLE_MOBILE, "description": DESCRIPTION_MOBILE},
        ("description", "title", "location"),
        found("+41765554433", "description"),
        id="calendar-field-order",
    ),
    pytest.param(
        {"location": "Tel 044 123 45 67", "title": TITLE_MOBILE},
        PHONE_FIELDS,
        found("+41787654321", "title"),
        id="landline-in-location-mobile-in-title",
    ),
    pytest.param(
        {"location": "", "title": TITLE_MOBILE},
        ("location",),
        missing(NOT_ENABLED),
        id="mobile-only-in-disabled-field",
    ),
    pytest.param(
        {"location": "044 123 45 67", "description": DESCRIPTION_MOBILE},
        ("location", "title"),
        missing(NOT_ENABLED),
        id="not-enabled-beats-landline",
    ),
    pytest.param(
        {"location": "044 123 45 67", "description": "Tel: 079 123"},
        PHONE_FIELDS,
        missing(LANDLINE),
        id="landline-beats-invalid",
    ),
    pytest.param(
        {"location": "Zürich", "title": "Tel: 079 123", "description": "25.11.2026"},
        PHONE_FIELDS,
        missing(INVALID),
        id="invalid-beats-no-number",
    ),
    pytest.param(
        {"location": "044 123 45 67", "title": "Anna"},
        ("title",),
        missing(NO_NUMBER),
        id="landline-in-disabled-field-does-not-count",
    ),
    pytest.param(
        {"title": "Anna079 123 45 67", "description": "Versichertenkarte: 80756000010012345678"},
        ("description", "title"),
        found(MOBILE, "title"),
        id="glued-mobile-after-health-card",
    ),
    pytest.param(
        {"location": "Praxis", "title": "Kontrolle", "description": "Karte: 8075 6000 0100 1234 5678"},
        PHONE_FIELDS,
        missing(NO_NUMBER),
        id="health-card-is-no-number",
    ),
    pytest.param(
        {"location": None, "title": None, "description": None}, PHONE_FIELDS, missing(NO_NUMBER), id="nulls"
    ),
    pytest.param({}, PHONE_FIELDS, missing(NO_NUMBER), id="no-fields"),
    pytest.param({"location": LOCATION_MOBILE}, (), missing(NOT_ENABLED), id="nothing-enabled"),
    pytest.param(
        {"location": LOCATION_MOBILE},
        ("location", "location"),
        found(MOBILE, "location"),
        id="duplicate-enabled",
    ),
]


@pytest.mark.parametrize(("fields", "enabled", "expected"), RECIPIENT_CASES)
def test_find_recipient(
    fields: dict[str, str | None], enabled: tuple[str, ...], expected: RecipientResult
) -> None:
    assert find_recipient(fields, enabled, "CH") == expected


def test_find_recipient_defaults_to_all_fields_and_switzerland() -> None:
    assert find_recipient({"description": "079 123 45 67"}) == found(MOBILE, "description")


def test_find_recipient_uses_the_region() -> None:
    fields = {"location": "0151 23456789"}
    assert find_recipient(fields, region="CH") == missing(NO_NUMBER)
    assert find_recipient(fields, region="de") == found("+4915123456789", "location")


def test_unknown_region_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown region"):
        find_recipient({"location": "079 123 45 67"}, region="XX")


@pytest.mark.parametrize(
    ("number", "sendable"),
    [
        pytest.param("+41791234567", True, id="ch-mobile"),
        pytest.param("+12125550123", True, id="us-fixed-line-or-mobile"),
        pytest.param("+41441234567", False, id="ch-landline"),
        pytest.param("+41800123456", False, id="toll-free"),
        pytest.param("+41741234567", False, id="invalid"),
    ],
)
def test_is_sendable(number: str, sendable: bool) -> None:
    assert is_sendable(phonenumbers.parse(number)) is sendable


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Anna Muster 079 123 45 67", "Anna Muster", id="trailing-number"),
        pytest.param("079 123 45 67 Anna Muster", "Anna Muster", id="leading-number"),
        pytest.param("Anna Muster (079 123 45 67)", "Anna Muster", id="bracketed"),
        pytest.param("Anna Muster (Tel. 079 123 45 67)", "Anna Muster", id="bracketed-with-label"),
        pytest.param(
            "Praxis Dr. Meier, Tel. 044 123 45 67, Bahnhofstrasse 1",
            "Praxis Dr. Meier, Bahnhofstrasse 1",
            id="landline-and-label-in-the-middle",
        ),
        pytest.param("Anna - 079 123 45 67", "Anna", id="dangling-dash"),
        pytest.param("Natel: 079 123 45 67\nPraxis Zürich", "Praxis Zürich", id="label-line"),
        pytest.param("Anna, Tel: +41 79 123", "Anna", id="invalid-number-removed-too"),
        pytest.param("Anna 079 123 45 67 / 044 123 45 67 Muster", "Anna Muster", id="two-numbers"),
        pytest.param("Zimmer 12 079 123 45 67", "Zimmer 12", id="room-number-kept"),
        pytest.param(
            "Termin 25.11.2026 14:30, CHF 120.-, Order #0791234567",
            "Termin 25.11.2026 14:30, CHF 120.-, Order #0791234567",
            id="decoys-kept",
        ),
        pytest.param("Telemedizin 079 123 45 67", "Telemedizin", id="word-like-a-label-kept"),
        pytest.param("<p>Anna</p><p>Tel: 079 123 45 67</p>", "Anna", id="html"),
        pytest.param("Kein Telefon", "Kein Telefon", id="nothing-to-remove"),
        pytest.param("Anna079 123 45 67", "Anna", id="glued-name-before"),
        pytest.param("Tel079 667 05 15 Anna", "Anna", id="glued-label-before"),
        pytest.param("078 903 17 44Brunner", "Brunner", id="glued-name-after"),
        pytest.param("Anna079 123 45 67Brunner", "Anna Brunner", id="glued-both-sides"),
        pytest.param("REF2024-1234 Anna", "REF2024-1234 Anna", id="glued-reference-kept"),
        pytest.param(
            "Anna, Karte 80756000010012345678", "Anna, Karte 80756000010012345678", id="health-card-kept"
        ),
    ],
)
def test_remove_phone_numbers(text: str, expected: str) -> None:
    assert remove_phone_numbers(text, "CH") == expected


def test_remove_phone_numbers_keeps_plain_text_unchanged() -> None:
    text = "  Anna  Muster\n\nZahnreinigung  "
    assert remove_phone_numbers(text, "CH") == text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("Plain 079 123 45 67\nline two", "Plain 079 123 45 67\nline two", id="plain-unchanged"),
        pytest.param("a < b > c & d", "a < b > c & d", id="plain-with-brackets"),
        pytest.param("a\u00a0b\u2009c\u200bd\u3000e", "a b c d e", id="odd-spaces"),
        pytest.param("Zahn\u00adreinigung", "Zahnreinigung", id="soft-hyphen"),
        pytest.param("a\r\nb\x00c", "a\nb c", id="controls"),
        pytest.param("<p>Max&nbsp;Muster</p><p>Tel</p>", "Max Muster\nTel", id="paragraphs"),
        pytest.param("one<br>two<br/>three", "one\ntwo\nthree", id="br"),
        pytest.param("&#43;41 &amp; more", "+41 & more", id="entities"),
        pytest.param(
            "<div>\n  indented\n   <span>text</span>\n</div>", "indented text", id="source-whitespace"
        ),
        pytest.param('Call <a href="tel:+41791234567">me</a>!', "Call me +41791234567 !", id="tel-link"),
        pytest.param('<a href="tel:%2B41%2079%20123">x</a>', "x +41 79 123", id="tel-link-encoded"),
        pytest.param('<a href="tel:+41791234567">079 123 45 67</a>', "079 123 45 67", id="tel-link-visible"),
        pytest.param("<table><tr><td>a</td><td>b</td></tr></table>", "a b", id="cells"),
        pytest.param("<style>p{}</style><script>x()</script><p>text</p>", "text", id="style-script"),
        pytest.param("<b>bold</b> <!-- hidden --> end", "bold end", id="comment"),
    ],
)
def test_html_to_text(value: str, expected: str) -> None:
    assert html_to_text(value) == expected


@pytest.mark.parametrize("tag", ["div", "ul", "a", "span"])
def test_html_to_text_survives_deep_nesting(tag: str) -> None:
    inner = f"<{tag}>" * 30_000 + "Tel <b>079</b> 123 45 67<br>x" + f"</{tag}>" * 30_000
    assert html_to_text(inner).startswith("Tel 079 123 45 67\nx")
    assert html_to_text(f"<{tag}>" * 100_000 + "x" + f"</{tag}>" * 100_000) == ""  # cut before the text


def test_html_to_text_caps_huge_input() -> None:
    huge = "<p>" + "a" * 1_000_000 + "</p>"
    assert len(html_to_text(huge)) <= 200_000


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("1234567890" * 100_000, id="digits"),
        pytest.param("044 123 45 67 " * 80_000, id="landlines"),
        pytest.param("Tel: 074 123 45 67, " * 60_000, id="invalid-numbers"),
        pytest.param("+1 " * 400_000, id="plus-signs"),
        pytest.param("<div><p>Tel 044 123 45 67<br>" * 40_000, id="html"),
        pytest.param("<div>" * 250_000, id="unclosed-nesting"),
        pytest.param("\ud800\udfff\x00" * 300_000, id="surrogates-and-nul"),
        pytest.param("Tel079 123 45 6Anna." * 50_000, id="glued-words"),
    ],
)
def test_huge_fields_finish(text: str) -> None:
    result = find_recipient({"location": text, "title": text, "description": text})
    assert result.number is None
    assert isinstance(remove_phone_numbers(text, "CH"), str)


def test_mobile_at_the_start_of_a_huge_field() -> None:
    text = "Natel 079 123 45 67 " + "x" * 1_000_000
    assert find_in_text(text, "CH") == (MOBILE, None)


def test_check_lines() -> None:
    lines = [
        json.dumps({"location": "Praxis", "title": "Anna 079 123 45 67", "description": None}),
        "",
        json.dumps({"location": "044 123 45 67"}),
        "{not json",
        json.dumps(["a list"]),
        json.dumps({"title": 12}),
        json.dumps({"location": "0151 23456789", "region": "DE"}),
        json.dumps({"location": "079 123 45 67", "region": "XX"}),
        json.dumps({"title": "079 123 45 67", "fields": ["location"]}),
        json.dumps({"title": "079 123 45 67", "fields": ["notes"]}),
        "[" * 100_000,
        "   ",
    ]
    out = io.StringIO()
    assert check_lines(lines, out) == 10
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    assert results[0] == {"number": MOBILE, "source": "title"}
    assert results[1] == {"number": None, "reason": "landline"}
    assert results[2]["error"].startswith("line 4: not valid JSON")
    assert results[3] == {"error": "line 5: expected a JSON object, got list"}
    assert results[4] == {"error": "line 6: 'title' must be a string or null"}
    assert results[5] == {"number": "+4915123456789", "source": "location"}
    assert "unknown region 'XX'" in results[6]["error"]
    assert results[7] == {"number": None, "reason": "not_in_enabled_fields"}
    assert results[8]["error"].startswith("line 10: 'fields' must be a list of location, title, description")
    assert results[9]["error"].startswith("line 11: not valid JSON")


# --- Properties ---------------------------------------------------------------------------------

PHONE_LIKE = st.sampled_from(
    ["079 123 45 67", "+41 44 123 45 67", "Tel: 079 123", "0800 123 456", "+33 6 12 34 56 78", "25.11.2026"]
)
HTML_PIECES = st.sampled_from(
    [
        *(
            "<div>",
            "</div>",
            "<p>",
            "</p>",
            "<br>",
            "<br/>",
            "&nbsp;",
            "&#43;",
            "<a href='tel:+41791234567'>",
        ),
        *("</a>", "<b>", "</b>", "<!--", "-->", "<script>", "</script>", "<", ">", "&", "<td>", "<table>"),
    ]
)
FIELD_TEXT = st.lists(st.one_of(st.text(max_size=30), PHONE_LIKE, HTML_PIECES), max_size=40).map("".join)


def assert_consistent(number: str | None, reason: NoRecipientReason | None) -> None:
    assert (number is None) == (reason is not None)
    if number is not None:
        assert number.startswith("+")
        parsed = phonenumbers.parse(number)
        assert phonenumbers.is_valid_number(parsed)
        assert is_sendable(parsed)


@settings(deadline=None, max_examples=200)
@given(text=st.one_of(st.text(), FIELD_TEXT))
def test_any_text_gives_a_consistent_result(text: str) -> None:
    assert_consistent(*find_in_text(text, "CH"))
    assert isinstance(remove_phone_numbers(text, "CH"), str)
    assert isinstance(html_to_text(text), str)


@settings(deadline=None, max_examples=50)
@given(piece=FIELD_TEXT, repeat=st.integers(min_value=1, max_value=3_000))
def test_large_text_gives_a_consistent_result(piece: str, repeat: int) -> None:
    assert_consistent(*find_in_text(piece * repeat, "CH"))


@settings(deadline=None, max_examples=100)
@given(
    fields=st.dictionaries(st.sampled_from(PHONE_FIELDS), st.one_of(st.none(), FIELD_TEXT)),
    enabled=st.lists(st.sampled_from(PHONE_FIELDS), unique=True),
)
def test_any_fields_give_a_consistent_result(fields: dict[str, str | None], enabled: list[str]) -> None:
    result = find_recipient(fields, enabled)
    assert_consistent(result.number, result.reason)
    assert (result.source is None) == (result.number is None)
    if result.source is not None:
        assert result.source in enabled
        assert find_in_text(fields[result.source] or "", "CH") == (result.number, None)


WORDS = st.lists(
    st.sampled_from(
        ["Anna", "Muster", "Termin", "Praxis", "Zürich", "Kontrolle", ",", ";", "-", ":", "(", ")"]
    ),
    max_size=6,
).map(" ".join)


@settings(deadline=None, max_examples=100)
@given(before=WORDS, after=WORDS)
def test_a_mobile_among_words_is_found_and_removed(before: str, after: str) -> None:
    text = f"{before} 079 123 45 67 {after}"
    assert find_in_text(text, "CH") == (MOBILE, None)
    assert find_in_text(remove_phone_numbers(text, "CH"), "CH")[0] is None
