"""How long to wait before asking a throttled or failing provider again."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

BACKOFF_BASE = 1.0
BACKOFF_CAP = 32.0


def retry_after_seconds(raw: str | None) -> float | None:
    """A `Retry-After` header in seconds (a number, maybe fractional, or an HTTP date); None if unusable."""
    if raw is None or not raw.strip():
        return None
    try:
        seconds = float(raw.strip())
    except ValueError:
        try:
            when = parsedate_to_datetime(raw.strip())
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def retry_wait(attempt: int, retry_after: float | None, *, max_retry_after: float) -> float | None:
    """Seconds to wait before retry number `attempt` (0-based).

    The provider's `Retry-After` is honoured exactly; without one, truncated exponential backoff
    with jitter (Google's and Microsoft's guidance). None when the provider asks for longer than
    `max_retry_after`: not worth holding a worker, the next scheduled sync retries.
    """
    if retry_after is not None:
        return None if retry_after > max_retry_after else retry_after
    return min(BACKOFF_CAP, BACKOFF_BASE * 2.0**attempt) + random.uniform(0, BACKOFF_BASE)
