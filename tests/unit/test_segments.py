"""SMS segment counting and GSM-7 normalisation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reminders.messaging.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    Encoding,
    SegmentInfo,
    count_segments,
    is_gsm7,
    normalize_for_gsm,
)

# The GSM 03.38 default alphabet, written out independently of the module under test.
SPEC_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
SPEC_EXTENSION = "\f^{}\\[~]|€"


def test_alphabet_matches_spec() -> None:
    # 128 codes minus ESC (0x1B), which is not a character a user sends.
    assert len(SPEC_BASIC) == 127
    assert frozenset(SPEC_BASIC) == GSM7_BASIC
    assert frozenset(SPEC_EXTENSION) == GSM7_EXTENSION


@pytest.mark.parametrize("ch", list("çêâôîûëïáíóúÈ`\x1b\t’–…\u00a0"))
def test_not_gsm7(ch: str) -> None:
    assert not is_gsm7(ch)
    assert count_segments(ch).encoding is Encoding.UCS2


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments", "per_segment"),
    [
        ("", Encoding.GSM7, 0, 0, 160),
        ("a", Encoding.GSM7, 1, 1, 160),
        ("a" * 160, Encoding.GSM7, 160, 1, 160),
        ("a" * 161, Encoding.GSM7, 161, 2, 153),
        ("a" * 306, Encoding.GSM7, 306, 2, 153),
        ("a" * 307, Encoding.GSM7, 307, 3, 153),
        ("a" * 459, Encoding.GSM7, 459, 3, 153),
        ("a" * 460, Encoding.GSM7, 460, 4, 153),
        ("€" * 80, Encoding.GSM7, 160, 1, 160),
        ("€" * 81, Encoding.GSM7, 162, 2, 153),
        ("a" * 159 + "€", Encoding.GSM7, 161, 2, 153),
        ("\n" * 160, Encoding.GSM7, 160, 1, 160),
        ("ê" * 70, Encoding.UCS2, 70, 1, 70),
        ("ê" * 71, Encoding.UCS2, 71, 2, 67),
        ("ê" * 134, Encoding.UCS2, 134, 2, 67),
        ("ê" * 135, Encoding.UCS2, 135, 3, 67),
        ("😀" * 35, Encoding.UCS2, 70, 1, 70),
        ("😀" * 36, Encoding.UCS2, 72, 2, 67),
    ],
)
def test_boundaries(text: str, encoding: Encoding, units: int, segments: int, per_segment: int) -> None:
    info = count_segments(text)
    assert (info.encoding, info.units, info.segments, info.per_segment) == (
        encoding,
        units,
        segments,
        per_segment,
    )


@pytest.mark.parametrize(
    ("length", "seed_billing"),
    [(160, 1), (161, 2), (306, 2), (307, 3), (320, 3), (321, 3), (459, 3), (460, 4), (480, 4)],
)
def test_real_parts_differ_from_seed_simplification(length: int, seed_billing: int) -> None:
    # The seed bills 161-320 characters as 2 SMS, 321-480 as 3; carriers split into parts of 153
    # septets, so 307-320 characters are really 3 parts. We count what is actually sent.
    assert count_segments("a" * length).segments == seed_billing


def test_escape_sequence_not_split_across_parts() -> None:
    # 152 septets, then "€" (2) would straddle the 153-septet boundary: it moves to part 2.
    text = "a" * 152 + "€" + "a" * 152
    info = count_segments(text)
    assert info.units == 306
    assert info.segments == 3  # naive ceil(306 / 153) would say 2
    assert count_segments("a" * 151 + "€" + "a" * 153).segments == 2


def test_surrogate_pair_not_split_across_parts() -> None:
    text = "ê" * 66 + "😀" + "ê" * 66
    info = count_segments(text)
    assert info.units == 134
    assert info.segments == 3  # naive ceil(134 / 67) would say 2
    assert count_segments("ê" * 65 + "😀" + "ê" * 67).segments == 2


def test_one_accent_switches_to_ucs2_and_normalisation_brings_it_back() -> None:
    text = "Rappel : votre rendez-vous est confirmé. " * 3 + "Fenêtre"
    assert count_segments(text.replace("ê", "e")).encoding is Encoding.GSM7
    info = count_segments(text)
    assert info.encoding is Encoding.UCS2
    assert info.non_gsm_chars == ("ê",)
    assert info.segments == 2  # 130 characters: 1 SMS in GSM-7, 2 in UCS-2
    normalized = normalize_for_gsm(text)
    assert normalized.endswith("Fenetre")
    back = count_segments(normalized)
    assert back.encoding is Encoding.GSM7
    assert back.segments == 1


def test_non_gsm_chars_distinct_in_order_of_appearance() -> None:
    info = count_segments("a’b😀c’ê😀\u00a0")
    assert info.non_gsm_chars == ("’", "😀", "ê", "\u00a0")


def test_gsm_message_reports_no_offenders() -> None:
    assert count_segments("Grüezi {€}").non_gsm_chars == ()


def test_lone_surrogate_counts_one_unit_and_forces_ucs2() -> None:
    info = count_segments("a\ud83d")
    assert info == SegmentInfo(Encoding.UCS2, 2, 1, 70, ("\ud83d",))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("‘a’ ‚b‛ `c´", "'a' 'b' 'c'"),
        ("“a” „b‟ «c» ‹d›", '"a" "b" "c" \'d\''),
        ("a–b—c−d‐e‑f", "a-b-c-d-e-f"),
        ("warte…", "warte..."),
        ("14\u00a0h 30\u202fmin\u2009x\u2007y", "14 h 30 min x y"),
        ("zero\u200bwidth\u2060\ufeff", "zerowidth"),
        ("• one\n• two", "- one\n- two"),
        ("ça Ça", "Ça Ça"),
        ("être fête château île sûr Noël naïf", "etre fete chateau ile sur Noel naif"),
        ("José María Núñez", "José Maria Nuñez"),
        ("È sufficiente", "E sufficiente"),
        ("cœur Œuvre", "coeur OEuvre"),
        ("line\r\nbreak", "line\nbreak"),
        ("e\u0301", "é"),  # decomposed input composes to the GSM-7 letter
    ],
)
def test_normalize_for_gsm(raw: str, expected: str) -> None:
    assert normalize_for_gsm(raw) == expected


@pytest.mark.parametrize(
    "text", ["Привет", "こんにちは", "😀👍🏽", "👨\u200d👩\u200d👧", "مرحبا", "ăşţ", "Grüße à Zürich"]
)
def test_normalize_leaves_other_scripts_emoji_and_gsm_letters_alone(text: str) -> None:
    assert normalize_for_gsm(text) == text


def test_normalize_is_idempotent_on_tricky_input() -> None:
    tricky = "ê\u0308 \r\r\n …… «ça» \u00a0\u200b"
    once = normalize_for_gsm(tricky)
    assert normalize_for_gsm(once) == once
    assert is_gsm7(once)


any_code_point = st.characters(exclude_categories=()) | st.characters(
    min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=()
)
gsm_or_not = st.text(
    alphabet=st.sampled_from(SPEC_BASIC + SPEC_EXTENSION + "êç’…😀\u00a0\u0301\u0308") | st.characters(),
    max_size=400,
)


@given(gsm_or_not, any_code_point)
def test_segments_monotonic_when_appending(text: str, ch: str) -> None:
    assert count_segments(text + ch).segments >= count_segments(text).segments


@given(st.text(alphabet=st.sampled_from("êëç’…\r\n\u0301\u0308\u0304e") | any_code_point, max_size=200))
def test_normalize_idempotent(text: str) -> None:
    once = normalize_for_gsm(text)
    assert normalize_for_gsm(once) == once


@given(st.text(alphabet=any_code_point, max_size=500))
def test_count_segments_never_raises_and_is_consistent(text: str) -> None:
    info = count_segments(text)
    assert (info.segments == 0) == (text == "")
    assert info.segments * info.per_segment >= info.units
    assert (info.encoding is Encoding.GSM7) == (info.non_gsm_chars == ())
    assert len(text) <= info.units <= 2 * len(text)
    if info.encoding is Encoding.UCS2:
        # Lone surrogates count one code unit each, as "surrogatepass" encodes them.
        assert info.units == len(text.encode("utf-16-le", "surrogatepass")) // 2


@given(st.text(alphabet=st.sampled_from(SPEC_BASIC + SPEC_EXTENSION + "’–…\u00a0«»"), max_size=300))
def test_normalized_latin_typography_is_gsm7(text: str) -> None:
    assert is_gsm7(normalize_for_gsm(text))
