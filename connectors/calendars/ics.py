"""ICS feeds as a `CalendarSource`: a secret calendar URL (or a local file) read in full each sync.

An ICS feed has no change tokens, so every sync that gets a body reparses the whole calendar and
returns it with `complete=True`. The cursor (JSON, opaque to callers) holds the HTTP validators
and a hash of the body so that an unchanged feed costs a 304 or a hash, not a reparse; but
recurring series must be expanded again whenever the window moves to a new day.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx

from connectors.calendars.base import (
    AccessRevoked,
    CalendarChanges,
    CalendarFeedInvalid,
    CalendarUnavailable,
)
from connectors.calendars.feed_http import AddressRefused, Deadline, feed_client, fetch_deadline
from connectors.calendars.ics_isolation import IcsParser
from connectors.calendars.ics_parse import NOT_ICALENDAR_TEXT, describe_non_icalendar, lookup_zone, parse_ics

__all__ = ["IcsCalendarSource", "parse_ics"]

_CURSOR_VERSION = 1
_ACCEPT = "text/calendar, text/plain;q=0.8, */*;q=0.5"
# Media types that claim to be iCalendar: a body that is not is a server mistake, said as such.
_CALENDAR_TYPES = frozenset({"text/calendar", "application/ics", "text/x-vcalendar"})


@dataclass(frozen=True, slots=True)
class _Cursor:
    """What the last successful fetch saw; `window_end_day` and `timezone` say how it was parsed."""

    sha256: str
    window_end_day: str
    timezone: str
    etag: str | None = None
    last_modified: str | None = None
    mtime_ns: int | None = None
    size: int | None = None
    v: int = _CURSOR_VERSION

    def dump(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def load(cls, raw: str | None) -> _Cursor | None:
        """Parse a stored cursor; anything unreadable means a full fetch, never an error."""
        if not raw:
            return None
        try:
            cursor = cls(**json.loads(raw))
        except (ValueError, TypeError):
            return None
        texts = (cursor.sha256, cursor.window_end_day, cursor.timezone)
        optional = (
            (cursor.etag, str),
            (cursor.last_modified, str),
            (cursor.mtime_ns, int),
            (cursor.size, int),
        )
        if cursor.v != _CURSOR_VERSION or not all(isinstance(t, str) for t in texts):
            return None
        if not all(value is None or isinstance(value, kind) for value, kind in optional):
            return None
        return cursor

    def still_valid(self, window_end_day: str, timezone: str) -> bool:
        """Whether a fetch with this window day and zone may reuse the old expansion."""
        return (self.window_end_day, self.timezone) == (window_end_day, timezone)


@dataclass(frozen=True, slots=True)
class _Body:
    content: bytes
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    mtime_ns: int | None = None
    size: int | None = None


class IcsCalendarSource:
    """A calendar read from an ICS feed: `http(s)://`, `webcal://`, `file://` or a local path.

    Pass the shared `httpx.Client` for URLs (for tenants' links the guarded one of `feed_http`);
    without one the source creates its own guarded client, which refuses private networks, and
    `close()` releases it. Each fetch ends after `fetch_deadline_seconds` in total, redirects and
    body included. Errors are `CalendarError`s whose messages name only the host of a URL, never
    its path: ICS links carry their secret in the path.
    """

    def __init__(
        self,
        location: str,
        *,
        http: httpx.Client | None = None,
        default_timezone: str = "Europe/Zurich",
        max_bytes: int = 20_000_000,
        max_instances_per_series: int = 1000,
        max_events: int = 200_000,
        fetch_deadline_seconds: float = 60.0,
        parser: IcsParser = parse_ics,
    ) -> None:
        if lookup_zone(default_timezone) is None:
            raise ValueError(f"unknown time zone {default_timezone!r}")
        self._url, self._path = _classify(location.strip())
        self._http = http
        self._owns_http = False
        self._default_timezone = default_timezone
        self._max_bytes = max_bytes
        self._max_instances = max_instances_per_series
        self._max_events = max_events
        self._fetch_deadline_seconds = fetch_deadline_seconds
        self._parser = parser

    def close(self) -> None:
        """Close the HTTP client if this source created it."""
        if self._owns_http and self._http is not None:
            self._http.close()
            self._http = None
            self._owns_http = False

    def fetch_changes(
        self, cursor: str | None, *, window_start: datetime, window_end: datetime
    ) -> CalendarChanges:
        """Fetch the feed and return every event instance overlapping the window.

        Returns `unchanged=True` (and no events) when the feed is the same as at `cursor` and the
        window still ends on the same day; otherwise a complete list.

        :raises CalendarUnavailable: network trouble, timeouts, HTTP 5xx/429, a missing file.
        :raises AccessRevoked: HTTP 401/403 (the link's secret was changed).
        :raises CalendarFeedInvalid: HTTP 404/410 and other 4xx, a body that is not iCalendar,
            too large, or unreadable.
        """
        day = window_end.astimezone(UTC).date().isoformat()
        previous = _Cursor.load(cursor)
        # Series gain instances as the window moves: only trust the old result on the same day.
        if previous is not None and not previous.still_valid(day, self._default_timezone):
            previous = None
        body = self._fetch_url(previous) if self._url is not None else self._read_file(previous)
        if body is None:
            return CalendarChanges(
                cursor=cursor, unchanged=True, window_start=window_start, window_end=window_end
            )
        new_cursor = _Cursor(
            sha256=hashlib.sha256(body.content).hexdigest(),
            window_end_day=day,
            timezone=self._default_timezone,
            etag=body.etag,
            last_modified=body.last_modified,
            mtime_ns=body.mtime_ns,
            size=body.size,
        )
        if previous is not None and previous.sha256 == new_cursor.sha256:
            return CalendarChanges(
                cursor=new_cursor.dump(), unchanged=True, window_start=window_start, window_end=window_end
            )
        return self._parse(body, new_cursor, window_start, window_end)

    def _parse(
        self, body: _Body, cursor: _Cursor, window_start: datetime, window_end: datetime
    ) -> CalendarChanges:
        what = describe_non_icalendar(body.content)
        if what is not None:
            raise CalendarFeedInvalid(self._not_icalendar(body.content_type, what))
        events, warnings = self._parser(
            body.content,
            window_start=window_start,
            window_end=window_end,
            default_timezone=self._default_timezone,
            max_instances_per_series=self._max_instances,
            max_events=self._max_events,
        )
        return CalendarChanges(
            cursor=cursor.dump(),
            events=events,
            complete=True,
            window_start=window_start,
            window_end=window_end,
            warnings=tuple(warnings),
        )

    # --- HTTP -----------------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = feed_client()
            self._owns_http = True
        return self._http

    def _fetch_url(self, previous: _Cursor | None) -> _Body | None:
        """GET the feed; None on 304 Not Modified."""
        assert self._url is not None
        headers = {"Accept": _ACCEPT}
        if previous is not None and previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous is not None and previous.last_modified:
            headers["If-Modified-Since"] = previous.last_modified
        with fetch_deadline(self._fetch_deadline_seconds) as deadline:
            return self._get(headers, previous, deadline)

    def _get(self, headers: dict[str, str], previous: _Cursor | None, deadline: Deadline) -> _Body | None:
        assert self._url is not None
        try:
            with self._client().stream("GET", self._url, headers=headers, follow_redirects=True) as response:
                if response.status_code == 304:
                    if previous is None:  # we asked for the body; a cache in between got it wrong
                        raise CalendarUnavailable(f"{self._display()} answered 304 without a calendar.")
                    return None
                self._check_status(response.status_code)
                content = self._read_limited(response, deadline)
                return _Body(
                    content=content,
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                    content_type=_media_type(response.headers.get("Content-Type")),
                )
        except AddressRefused as exc:
            raise CalendarFeedInvalid(self._refused(exc.host)) from exc
        except httpx.TimeoutException as exc:
            if deadline.expired:
                raise CalendarUnavailable(self._too_slow()) from exc
            raise CalendarUnavailable(f"{self._display()} did not answer in time.") from exc
        except (httpx.TooManyRedirects, httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise CalendarFeedInvalid(f"{self._display()} cannot be fetched: {self._reason(exc)}.") from exc
        except httpx.DecodingError as exc:
            raise CalendarFeedInvalid(f"{self._display()} sent a body that cannot be decoded.") from exc
        except httpx.HTTPError as exc:  # connection refused, DNS failure, reset, TLS...
            raise CalendarUnavailable(f"Could not reach {self._display()}: {self._reason(exc)}.") from exc

    def _check_status(self, status: int) -> None:
        where = self._display()
        if 200 <= status < 300:
            return
        if status in (401, 403):
            raise AccessRevoked(
                f"{where} answered HTTP {status}: the calendar's secret link was probably reset. "
                "Copy the calendar's current ICS link and connect it again."
            )
        if status in (404, 410):
            raise CalendarFeedInvalid(
                f"{where} answered HTTP {status}: this calendar link no longer exists. Check the ICS link."
            )
        if status in (408, 429) or status >= 500:
            raise CalendarUnavailable(f"{where} answered HTTP {status}; the calendar server has trouble.")
        raise CalendarFeedInvalid(f"{where} answered HTTP {status}; check the calendar's ICS link.")

    def _read_limited(self, response: httpx.Response, deadline: Deadline) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise CalendarFeedInvalid(self._too_large())
        chunks: list[bytes] = []
        total = 0
        for chunk in response.iter_bytes():  # decompressed: counts a gzip bomb at its real size
            total += len(chunk)
            if total > self._max_bytes:
                raise CalendarFeedInvalid(self._too_large())
            chunks.append(chunk)
            if deadline.expired:  # the guarded client stops at the deadline by itself; others here
                raise CalendarUnavailable(self._too_slow())
        return b"".join(chunks)

    def _reason(self, exc: Exception) -> str:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        if self._url is not None:
            reason = reason.replace(self._url, self._display())
        return reason[:200]

    # --- local files ----------------------------------------------------------------------------

    def _read_file(self, previous: _Cursor | None) -> _Body | None:
        """Read the file; None when size and mtime match the cursor (no read at all)."""
        assert self._path is not None
        path = self._path
        try:
            info = path.stat()
            if not stat.S_ISREG(info.st_mode):
                raise CalendarFeedInvalid(f"{path} is not a file.")
            if previous is not None and (previous.mtime_ns, previous.size) == (
                info.st_mtime_ns,
                info.st_size,
            ):
                return None
            if info.st_size > self._max_bytes:
                raise CalendarFeedInvalid(self._too_large())
            with path.open("rb") as handle:
                content = handle.read(self._max_bytes + 1)  # the file may grow after stat()
        except FileNotFoundError as exc:
            raise CalendarUnavailable(f"The calendar file {path} does not exist.") from exc
        except OSError as exc:
            raise CalendarUnavailable(
                f"The calendar file {path} cannot be read: {exc.strerror or exc}."
            ) from exc
        if len(content) > self._max_bytes:
            raise CalendarFeedInvalid(self._too_large())
        return _Body(content=content, mtime_ns=info.st_mtime_ns, size=info.st_size)

    # --- messages -------------------------------------------------------------------------------

    def _not_icalendar(self, content_type: str | None, what: str) -> str:
        """Why a body is refused: what it was, and what the server claimed when that was a calendar."""
        if content_type not in _CALENDAR_TYPES:
            return f"{self._display()} is not an iCalendar feed (got {content_type or what})."
        found = "it does not begin with BEGIN:VCALENDAR" if what == NOT_ICALENDAR_TEXT else f"it is {what}"
        return (
            f"{self._display()} answered with {content_type}, "
            f"but the content is not an iCalendar file ({found})."
        )

    def _display(self) -> str:
        """scheme://host/… for URLs (the path is the secret), the path for files."""
        if self._url is None:
            return str(self._path)
        try:
            url = httpx.URL(self._url)
        except httpx.InvalidURL:
            return "the calendar link"
        port = f":{url.port}" if url.port else ""
        return f"{url.scheme}://{url.host}{port}/…"

    def _refused(self, host: str) -> str:
        """Names the host as the link or a redirect wrote it; the addresses it resolved to stay ours."""
        assert self._url is not None
        if host == httpx.URL(self._url).raw_host.decode("ascii"):
            return f"{self._display()} points into a private network, which this server may not read."
        return (
            f"{self._display()} redirected to {host}, which points into a private network "
            "that this server may not read."
        )

    def _too_slow(self) -> str:
        seconds = f"{self._fetch_deadline_seconds:g} s"
        return f"The calendar server at {self._display()} did not send the calendar within {seconds}."

    def _too_large(self) -> str:
        size = (
            f"{self._max_bytes / 1_000_000:g} MB"
            if self._max_bytes >= 1_000_000
            else f"{self._max_bytes:,} bytes"
        )
        return f"The calendar feed is larger than {size}."


def _classify(location: str) -> tuple[str | None, Path | None]:
    """Return (url, None) or (None, path) for a feed location."""
    lowered = location.lower()
    for prefix in ("webcal://", "webcals://"):
        if lowered.startswith(prefix):
            return "https://" + location[len(prefix) :], None
    if lowered.startswith(("http://", "https://")):
        return location, None
    if lowered.startswith("file://"):
        parts = urlsplit(location)
        if parts.netloc not in ("", "localhost"):
            return location, None  # a remote file share: httpx reports it as unsupported
        return None, Path(url2pathname(parts.path))
    if "://" in location:
        return location, None  # ftp:// and friends: reported as unsupported when fetched
    return None, Path(os.path.expanduser(location))


def _media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None
