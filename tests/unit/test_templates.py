"""Message templates and localised date/time formatting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reminders.messaging.formatting import (
    format_date,
    format_date_long,
    format_time,
    format_weekday,
    normalize_language,
)
from reminders.messaging.segments import Encoding, count_segments, is_gsm7
from reminders.messaging.templates import (
    DEFAULT_TEMPLATES,
    MAX_TEMPLATE_LENGTH,
    PLACEHOLDERS,
    MessageContext,
    TemplateError,
    placeholders_in,
    render,
    validate_template,
)

ZURICH = "Europe/Zurich"
# Wednesday 25 November 2026, 14:30 in Zurich (CET, UTC+1).
WINTER = datetime(2026, 11, 25, 13, 30, tzinfo=UTC)


def ctx(
    starts_at: datetime = WINTER,
    language: str = "de",
    *,
    location: str = "Bahnhofstrasse 12, 8001 Zürich",
    business: str = "Praxis Dr. Muster",
    title: str = "Kontrolle",
    calendar: str = "Praxis",
    tz: str = ZURICH,
) -> MessageContext:
    return MessageContext(
        starts_at=starts_at,
        timezone=tz,
        language=language,
        title=title,
        location=location,
        business=business,
        calendar=calendar,
    )


ALL = "{date}|{date_long}|{time}|{weekday}|{location}|{title}|{business}|{calendar}"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "de",
            "25.11.2026|Mittwoch, 25. November 2026|14:30|Mittwoch|Bahnhofstrasse 12, 8001 Zürich"
            "|Kontrolle|Praxis Dr. Muster|Praxis",
        ),
        (
            "fr",
            "25.11.2026|mercredi 25 novembre 2026|14h30|mercredi|Bahnhofstrasse 12, 8001 Zürich"
            "|Kontrolle|Praxis Dr. Muster|Praxis",
        ),
        (
            "it",
            "25.11.2026|mercoledì 25 novembre 2026|14:30|mercoledì|Bahnhofstrasse 12, 8001 Zürich"
            "|Kontrolle|Praxis Dr. Muster|Praxis",
        ),
        (
            "en",
            "25 Nov 2026|Wednesday, 25 November 2026|14:30|Wednesday|Bahnhofstrasse 12, 8001 Zürich"
            "|Kontrolle|Praxis Dr. Muster|Praxis",
        ),
    ],
)
def test_every_language_renders(language: str, expected: str) -> None:
    assert render(ALL, ctx(language=language)) == expected


@pytest.mark.parametrize(
    ("tag", "expected"), [("de-CH", "de"), ("FR_ch", "fr"), ("it", "it"), ("rm", "en"), ("", "en")]
)
def test_language_tags_and_fallback(tag: str, expected: str) -> None:
    assert normalize_language(tag) == expected


def test_unknown_language_falls_back_to_english() -> None:
    assert render("{weekday} {date}", ctx(language="xx")) == "Wednesday 25 Nov 2026"


@pytest.mark.parametrize(
    ("starts_at", "weekday"),
    [
        (datetime(2026, 7, 15, 8, 0, tzinfo=UTC), "Mittwoch"),  # CEST, UTC+2
        (datetime(2026, 1, 14, 9, 0, tzinfo=UTC), "Mittwoch"),  # CET, UTC+1
        (datetime(2026, 3, 29, 8, 0, tzinfo=UTC), "Sonntag"),  # first day of summer time
        (datetime(2026, 10, 25, 9, 0, tzinfo=UTC), "Sonntag"),  # first day of winter time
    ],
)
def test_ten_oclock_in_zurich_summer_and_winter(starts_at: datetime, weekday: str) -> None:
    assert render("{weekday} {time}", ctx(starts_at)) == f"{weekday} 10:00"


def test_time_is_converted_from_any_aware_zone() -> None:
    new_york = timezone(timedelta(hours=-5))
    assert format_time(datetime(2026, 11, 25, 8, 30, tzinfo=new_york), ZURICH, "fr") == "14h30"


def test_date_follows_the_appointment_zone_across_midnight() -> None:
    late = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
    assert format_date(late, ZURICH, "de") == "26.11.2026"
    assert format_weekday(late, ZURICH, "it") == "giovedì"
    assert format_date(late, "America/New_York", "de") == "25.11.2026"


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        format_time(datetime(2026, 11, 25, 14, 30), ZURICH, "de")  # noqa: DTZ001


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("de", "Dienstag, 1. September 2026"),
        ("fr", "mardi 1er septembre 2026"),
        ("it", "martedì 1 settembre 2026"),
        ("en", "Tuesday, 1 September 2026"),
    ],
)
def test_date_long_first_of_month(language: str, expected: str) -> None:
    assert format_date_long(datetime(2026, 9, 1, 10, 0, tzinfo=UTC), ZURICH, language) == expected


def test_unknown_placeholder_message_lists_allowed_and_suggests() -> None:
    with pytest.raises(TemplateError) as excinfo:
        validate_template("Termin am {datum} um {Time}, {foo}.")
    message = str(excinfo.value)
    assert message.startswith("Unknown placeholders {datum} → {date}, {Time} → {time}, {foo}.")
    assert (
        "Use one of: {business}, {calendar}, {date}, {date_long}, {location}, {time}, {title}, {weekday}."
        in (message)
    )


def test_single_unknown_placeholder_message() -> None:
    with pytest.raises(
        TemplateError, match=r"^Unknown placeholder \{lieu\} \(did you mean \{location\}\?\)\."
    ):
        validate_template("à {lieu}")


def test_braces_escaping() -> None:
    assert placeholders_in("{{date}} {time} }}{{") == ["time"]
    assert render("{{date}} = {date} }}{{", ctx()) == "{date} = 25.11.2026 }{"


def test_values_are_not_parsed_as_template() -> None:
    assert render("{title}", ctx(title="{date} }")) == "{date} }"


@pytest.mark.parametrize("body", ["Am {date", "Am date}", "Am {da{te}", "{date\n}", "{date}}", "}"])
def test_unbalanced_braces(body: str) -> None:
    with pytest.raises(TemplateError, match="brace"):
        validate_template(body)


@pytest.mark.parametrize("body", ["", "   ", "\n"])
def test_empty_template(body: str) -> None:
    with pytest.raises(TemplateError, match="empty"):
        validate_template(body)


def test_template_length_limit() -> None:
    validate_template("a" * MAX_TEMPLATE_LENGTH)
    with pytest.raises(TemplateError, match=f"at most {MAX_TEMPLATE_LENGTH}"):
        validate_template("a" * (MAX_TEMPLATE_LENGTH + 1))


def test_placeholders_in_order_distinct_known_or_not() -> None:
    assert placeholders_in("{time} {date} {time} {datum}") == ["time", "date", "datum"]


def test_empty_values_collapse() -> None:
    empty = ctx(location="", title="", calendar="")
    assert (
        render("Termin {title} am {date} bei {business}", empty)
        == "Termin am 25.11.2026 bei Praxis Dr. Muster"
    )
    assert render("  {title}  um {time} Uhr, {location}. Bis bald  ", empty) == "um 14:30 Uhr. Bis bald"
    assert render("{business} - {calendar}: {time}", empty) == "Praxis Dr. Muster: 14:30"
    assert render("Ort: {location}\nZeit: {time}", empty) == "Ort:\nZeit: 14:30"
    # The separator is taken from the template text only, never from a neighbouring value.
    assert render("{title}{location}", ctx(title="Kontrolle,", location="")) == "Kontrolle,"


def test_values_are_flattened_and_normalised() -> None:
    rendered = render("{location}", ctx(location="  Praxis\n«Zentrum»\u00a0–  2. Stock "))
    assert rendered == 'Praxis "Zentrum" - 2. Stock'


def test_render_output_is_gsm_normalised() -> None:
    assert render("Fenêtre: {title}", ctx(title="contrôle’s")) == "Fenetre: controle's"
    assert render("a\u00a0 {time}\r \nb", ctx()) == "a 14:30\nb"


def test_every_placeholder_is_documented_and_renders() -> None:
    assert set(PLACEHOLDERS) == {
        "date",
        "date_long",
        "time",
        "weekday",
        "location",
        "title",
        "business",
        "calendar",
    }
    for name in PLACEHOLDERS:
        assert render(f"{{{name}}}", ctx()) != ""


@pytest.mark.parametrize("language", ["de", "fr", "it", "en"])
def test_default_templates_validate_and_are_gsm7(language: str) -> None:
    body = DEFAULT_TEMPLATES[language]
    validate_template(body)
    assert is_gsm7(body)
    assert set(placeholders_in(body)) >= {"business", "weekday", "date", "time", "location"}


@pytest.mark.parametrize("language", ["de", "fr", "it", "en"])
@pytest.mark.parametrize("day", range(23, 30))  # every weekday, incl. the longest names
def test_default_templates_fit_one_sms_for_typical_values(language: str, day: int) -> None:
    rendered = render(DEFAULT_TEMPLATES[language], ctx(datetime(2026, 11, day, 13, 30, tzinfo=UTC), language))
    info = count_segments(rendered)
    assert info.encoding is Encoding.GSM7, info.non_gsm_chars
    assert info.segments == 1, (len(rendered), rendered)


@pytest.mark.parametrize("language", ["de", "fr", "it", "en"])
def test_default_templates_read_well_without_location(language: str) -> None:
    rendered = render(DEFAULT_TEMPLATES[language], ctx(language=language, location=""))
    assert ", ." not in rendered
    assert "  " not in rendered


@pytest.mark.parametrize("month", range(1, 13))
@pytest.mark.parametrize("language", ["de", "fr", "it", "en"])
def test_formatted_dates_are_gsm7_after_normalisation(language: str, month: int) -> None:
    rendered = render("{date_long} {date}", ctx(datetime(2026, month, 1, 10, 0, tzinfo=UTC), language))
    assert is_gsm7(rendered)


@given(st.text(max_size=200))
def test_validate_raises_only_template_error(body: str) -> None:
    try:
        validate_template(body)
    except TemplateError:
        return
    assert isinstance(render(body, ctx()), str)
