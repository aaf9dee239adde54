from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from connectors.calendars.retry import BACKOFF_CAP, retry_after_seconds, retry_wait


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2", 2.0),
        ("1.5", 1.5),
        (" 0 ", 0.0),
        ("-3", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
    ],
)
def test_retry_after_reads_seconds(raw: str | None, expected: float | None) -> None:
    assert retry_after_seconds(raw) == expected


def test_retry_after_reads_an_http_date() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    seconds = retry_after_seconds(later)
    assert seconds is not None
    assert 25 <= seconds <= 31


def test_the_provider_s_wait_is_honoured_exactly_unless_it_is_too_long() -> None:
    assert retry_wait(0, 1.5, max_retry_after=60) == 1.5
    assert retry_wait(3, 0.0, max_retry_after=60) == 0.0
    assert retry_wait(0, 61, max_retry_after=60) is None


def test_without_a_provider_wait_backoff_grows_and_is_capped() -> None:
    waits = [retry_wait(n, None, max_retry_after=60) for n in range(8)]
    assert all(w is not None for w in waits)
    assert 1 <= (waits[0] or 0) < 2
    assert 8 <= (waits[3] or 0) < 9
    assert max(w or 0 for w in waits) < BACKOFF_CAP + 1
