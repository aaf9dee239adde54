"""The editor's preview: the rendered text, its encoding, parts, credits and what forces UCS-2."""

from __future__ import annotations

from datetime import UTC, datetime

from reminders.messaging.preview import preview_message, sample_context
from reminders.messaging.segments import Encoding
from reminders.messaging.templates import MessageContext

CONTEXT = MessageContext(
    starts_at=datetime(2026, 11, 25, 13, 30, tzinfo=UTC),
    timezone="Europe/Zurich",
    language="de",
    title="Kontrolle",
    location="Bahnhofstrasse 12",
    business="Praxis Muster",
    calendar="Praxis",
)


def test_a_short_plain_text_is_one_gsm7_sms() -> None:
    preview = preview_message("Termin {date} um {time}, {location}.", CONTEXT)

    assert preview.error is None
    assert preview.text == "Termin 25.11.2026 um 14:30, Bahnhofstrasse 12."
    assert (preview.encoding, preview.segments, preview.credits) == (Encoding.GSM7, 1, 1)
    assert preview.characters == len(preview.text) == preview.units
    assert preview.per_segment == 160
    assert preview.forced_ucs2 == ()


def test_a_long_text_needs_several_parts_and_costs_one_credit_each() -> None:
    preview = preview_message("x" * 161, CONTEXT)

    assert (preview.segments, preview.credits, preview.per_segment) == (2, 2, 153)


def test_characters_that_force_ucs2_are_named_with_what_gsm7_would_cost() -> None:
    preview = preview_message("Termin am {date} 😀 bei Dr. Kővári. " + "x" * 60, CONTEXT)

    assert preview.encoding is Encoding.UCS2
    assert (preview.segments, preview.credits) == (2, 2)
    notes = {note.char: note for note in preview.forced_ucs2}
    assert set(notes) == {"😀", "ő"}
    assert notes["😀"].name == "GRINNING FACE"
    assert notes["😀"].replacement is None
    assert notes["ő"].replacement == "o"
    assert preview.gsm_credits == 1  # without them: one GSM-7 SMS


def test_typography_is_replaced_for_free_and_said_so() -> None:
    preview = preview_message("Ihr Termin – am {date} … „bis bald“", CONTEXT)

    assert preview.encoding is Encoding.GSM7
    assert preview.text == 'Ihr Termin - am 25.11.2026 ... "bis bald"'
    assert {(n.char, n.replacement) for n in preview.replaced} == {
        ("–", "-"),
        ("…", "..."),
        ("„", '"'),
        ("“", '"'),
    }


def test_a_placeholder_error_is_returned_not_raised() -> None:
    preview = preview_message("Termin am {datum}", CONTEXT)

    assert preview.text is None
    assert preview.error is not None
    assert "{datum}" in preview.error
    assert "{date}" in preview.error
    assert preview.as_json()["error"] == preview.error


def test_the_json_has_everything_the_editor_shows() -> None:
    answer = preview_message("Hallo 😀", CONTEXT).as_json()

    assert answer["encoding"] == "ucs2"
    assert (answer["segments"], answer["credits"], answer["characters"]) == (1, 1, 7)
    assert answer["forced_ucs2"] == [{"char": "😀", "name": "GRINNING FACE", "replacement": None}]


def test_the_sample_appointment_is_tomorrow_afternoon_in_the_language() -> None:
    now = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)  # already 00:30 on the 25th in Zurich

    context = sample_context("fr-CH", now=now, timezone="Europe/Zurich", business="Salon")

    assert context.starts_at == datetime(2026, 11, 26, 13, 30, tzinfo=UTC)
    assert (context.language, context.title, context.calendar) == ("fr", "Contrôle", "Rendez-vous")
    assert preview_message("{title} {date} {time}", context).text == "Controle 26.11.2026 14h30"
