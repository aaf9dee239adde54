"""State, options, error bodies and recurrence expansion of the Google emulator.

Everything here is guarded by `GoogleState.lock`; the HTTP handlers (google_oauth, google_calendar) and the
test-facing `GoogleEmulator` (google.py) take it before touching anything.
"""

from __future__ import annotations

import copy
import json
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from http import HTTPStatus
from typing import Any, Literal
from zoneinfo import ZoneInfo

from dateutil import rrule as dateutil_rrule  # type: ignore[import-untyped]

SCOPE_PREFIX = "https://www.googleapis.com/auth/"
EVENT_SCOPES = frozenset(
    SCOPE_PREFIX + name
    for name in (
        "calendar",
        "calendar.readonly",
        "calendar.events",
        "calendar.events.readonly",
        "calendar.events.owned",
        "calendar.events.owned.readonly",
        "calendar.events.public.readonly",
        "calendar.events.freebusy",
        "calendar.app.created",
    )
)
CALENDAR_LIST_SCOPES = frozenset(
    SCOPE_PREFIX + name
    for name in ("calendar", "calendar.readonly", "calendar.calendarlist", "calendar.calendarlist.readonly")
)
ACCESS_ROLES = ("freeBusyReader", "reader", "writerWithoutPrivateAccess", "writer", "owner")

Instant = datetime | date  # an aware datetime (timed) or a date (all-day)


@dataclass
class GoogleEmulatorOptions:
    """Behaviour switches; most cover facts calendar-apis.md marks [UNCONFIRMED]. Mutable at run time."""

    # OAuth
    redirect_uris: tuple[str, ...] | None = None  # registered redirect URIs; None accepts any
    code_ttl: float = 600.0
    refresh_token_ttl: float | None = None  # e.g. 7 * 86400: the "Testing" publishing status (§2.2)
    refresh_token_cap: int | None = 100  # live refresh tokens per user and client; the oldest dies
    code_reused_description: str = "Bad Request"
    code_expired_description: str = "Bad Request"
    code_malformed_description: str = "Malformed auth code."
    missing_verifier_description: str = "Missing code verifier."
    invalid_verifier_description: str = "Invalid code verifier."
    # refresh asking for scopes the grant lacks: answer with the narrower set, or 400 invalid_scope
    refresh_extra_scopes: Literal["narrow", "invalid_scope"] = "narrow"
    # events.list
    empty_page_every: int = 0  # N >= 2: every Nth page of a listing is empty but has nextPageToken
    sync_token_conflict_reason: str = "invalid"
    sync_token_conflict_message: str = "The parameter {param} cannot be used with syncToken."
    strict_sync_params: bool = True  # 400 when singleEvents/showDeleted differ from the token's query
    incremental_window: bool = False  # True: incremental results keep the initial timeMin/timeMax window
    omit_sync_token_with: frozenset[str] = frozenset()
    # deleted events in list results: minimal stubs (default), or full details when showDeleted=true
    # (what the organizer's calendar may keep, §1.5)
    deleted_details_with_show_deleted: bool = False  # e.g. {"orderBy"}: no nextSyncToken then
    instance_id_timed: str = "%Y%m%dT%H%M%SZ"  # strftime of the UTC original start
    instance_id_all_day: str = "%Y%m%d"
    expansion_horizon_days: int = 730  # recurring series expand up to max(now, start) + this
    max_instances: int = 1000  # per series and query
    # push
    channel_max_ttl: int = 7 * 86400  # seconds; requested expirations are capped to this
    expiration_as_string: bool = True  # Channel.expiration as "1426325213000" rather than a number
    stop_status: int = 204
    require_https_address: bool = False
    push_timeout: float = 2.0
    push_retries: int = 0  # retries after 500/502/503/504, as Google does with backoff
    push_retry_delay: float = 0.2  # doubled each retry


# ---------------------------------------------------------------------------------------------------------
# Requests, responses and error bodies


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        return cls(
            status,
            json.dumps(payload).encode(),
            {"Content-Type": "application/json; charset=UTF-8", **(headers or {})},
        )


class ApiError(Exception):
    """An error answer; raised anywhere under a handler and turned into the response."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers or {}

    def response(self) -> Response:
        return Response.json(self.status, self.body, self.headers)


def google_error(
    status: int,
    reason: str,
    message: str,
    *,
    domain: str = "global",
    location: str | None = None,
    location_type: str = "parameter",
    top_message: str | None = None,
) -> dict[str, Any]:
    """A Calendar API error body (calendar-apis.md 1.11)."""
    item: dict[str, Any] = {"domain": domain, "reason": reason, "message": message}
    if location is not None:
        item["locationType"] = location_type
        item["location"] = location
    return {"error": {"errors": [item], "code": status, "message": top_message or message}}


def full_sync_required() -> ApiError:
    message = "Sync token is no longer valid, a full sync is required."
    return ApiError(
        410, google_error(410, "fullSyncRequired", message, domain="calendar", location="syncToken")
    )


def auth_error() -> ApiError:
    top = (
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
        "other valid authentication credential. "
        "See https://developers.google.com/identity/sign-in/web/devconsole-project."
    )
    body = google_error(
        401,
        "authError",
        "Invalid Credentials",
        location="Authorization",
        location_type="header",
        top_message=top,
    )
    return ApiError(401, body, {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})


def not_found() -> ApiError:
    return ApiError(404, google_error(404, "notFound", "Not Found"))


def bad_request(reason: str, message: str, location: str | None = None) -> ApiError:
    return ApiError(400, google_error(400, reason, message, location=location))


_RATE_MESSAGES = {
    "rateLimitExceeded": "Rate Limit Exceeded",
    "userRateLimitExceeded": "User Rate Limit Exceeded",
    "quotaExceeded": "Calendar usage limits exceeded.",
}


def default_fault_body(status: int, path: str, reason: str | None) -> dict[str, Any]:
    """The body an injected fault answers with when the test gives none."""
    if path.startswith(("/token", "/revoke", "/o/oauth2")):
        error = reason or ("internal_failure" if status >= 500 else "invalid_request")
        return {"error": error, "error_description": HTTPStatus(status).phrase}
    if status in (403, 429):
        reason = reason or "rateLimitExceeded"
        domain = "usageLimits" if reason in _RATE_MESSAGES else "global"
        return google_error(status, reason, _RATE_MESSAGES.get(reason, "Forbidden"), domain=domain)
    if status == 410 and reason in (None, "fullSyncRequired"):
        return full_sync_required().body
    if status == 401 and reason in (None, "authError"):
        return auth_error().body
    defaults = {500: ("backendError", "Backend Error"), 503: ("backendError", "Backend Error")}
    default_reason, message = defaults.get(status, ("error", HTTPStatus(status).phrase))
    return google_error(status, reason or default_reason, message)


# ---------------------------------------------------------------------------------------------------------
# Time and recurrence


def rfc3339_ms(ms: int) -> str:
    """UTC RFC 3339 with milliseconds, as Google's `updated`."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def format_datetime(value: datetime) -> str:
    text = value.isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def parse_event_time(edt: dict[str, Any], default_tz: str) -> Instant:
    """An EventDateTime as a date or an aware datetime (naive values take timeZone or the default)."""
    if "date" in edt:
        return date.fromisoformat(edt["date"])
    value = datetime.fromisoformat(edt["dateTime"])
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(edt.get("timeZone") or default_tz))
    return value


def to_instant(value: Instant, tz: ZoneInfo) -> datetime:
    """A comparable aware datetime; a date is its midnight in `tz`."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, dtime(), tzinfo=tz)


def edt_of(value: Instant, tz_name: str | None) -> dict[str, Any]:
    """The EventDateTime Google renders for a start, end or originalStartTime."""
    if not isinstance(value, datetime):
        return {"date": value.isoformat()}
    if tz_name:
        return {"dateTime": format_datetime(value.astimezone(ZoneInfo(tz_name))), "timeZone": tz_name}
    return {"dateTime": format_datetime(value)}


@dataclass(frozen=True)
class Series:
    """How a recurring master expands."""

    all_day: bool
    tz_name: str
    start: Instant
    duration: timedelta

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.tz_name)

    def end_of(self, original: Instant) -> Instant:
        if isinstance(original, datetime):
            return original + self.duration
        return original + timedelta(days=self.duration.days)


def series_of(data: dict[str, Any], calendar_tz: str) -> Series:
    tz_name = data["start"].get("timeZone") or calendar_tz
    start = parse_event_time(data["start"], tz_name)
    end = parse_event_time(data["end"], tz_name)
    if isinstance(start, datetime) and isinstance(end, datetime):
        return Series(False, tz_name, start.astimezone(ZoneInfo(tz_name)), end - start)
    return Series(True, tz_name, start, end - start)


def _split_line(line: str) -> tuple[str, dict[str, str], str]:
    head, _, value = line.partition(":")
    name, *raw_params = head.split(";")
    params = dict(p.split("=", 1) for p in raw_params if "=" in p)
    return name.upper(), {k.upper(): v for k, v in params.items()}, value


def _wall(value: str, params: dict[str, str], series: Series) -> datetime:
    """An RDATE/EXDATE value as a naive wall time in the series' zone."""
    if len(value) == 8 or params.get("VALUE") == "DATE":
        day = datetime.strptime(value[:8], "%Y%m%d")  # noqa: DTZ007 (a wall time in the series' zone)
        if series.all_day or not isinstance(series.start, datetime):
            return day
        return datetime.combine(day.date(), series.start.timetz()).replace(tzinfo=None)
    if value.endswith("Z"):
        moment = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return moment.astimezone(series.tz).replace(tzinfo=None)
    naive = datetime.strptime(value, "%Y%m%dT%H%M%S")  # noqa: DTZ007 (floating: the series' zone)
    if "TZID" in params:
        return naive.replace(tzinfo=ZoneInfo(params["TZID"])).astimezone(series.tz).replace(tzinfo=None)
    return naive


def _rule(value: str, series: Series, dtstart: datetime) -> Any:
    """An RRULE/EXRULE with UNTIL rewritten to a naive wall time (dateutil wants it like DTSTART)."""
    parts = []
    for part in value.split(";"):
        key, _, val = part.partition("=")
        if key.upper() == "UNTIL":
            if val.endswith("Z"):
                moment = datetime.strptime(val, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
                val = moment.astimezone(series.tz).strftime("%Y%m%dT%H%M%S")
            elif len(val) == 8 and not series.all_day:
                val += "T235959"
        parts.append(f"{key}={val}")
    return dateutil_rrule.rrulestr(";".join(parts), dtstart=dtstart)


def occurrences(
    data: dict[str, Any],
    calendar_tz: str,
    options: GoogleEmulatorOptions,
    *,
    lower: datetime | None = None,
    upper: datetime | None = None,
) -> list[Instant]:
    """Original starts of a recurring master whose span overlaps (lower, upper), bounded."""
    series = series_of(data, calendar_tz)
    tz = series.tz
    first = to_instant(series.start, tz)
    if upper is None:
        upper = max(datetime.now(UTC), first) + timedelta(days=options.expansion_horizon_days)
    if isinstance(series.start, datetime):
        dtstart = series.start.replace(tzinfo=None)
    else:
        dtstart = datetime.combine(series.start, dtime())
    rset = dateutil_rrule.rruleset()
    rset.rdate(dtstart)
    for line in data.get("recurrence") or []:
        name, params, value = _split_line(line.strip())
        if name == "RRULE":
            rset.rrule(_rule(value, series, dtstart))
        elif name == "EXRULE":
            rset.exrule(_rule(value, series, dtstart))
        elif name in ("RDATE", "EXDATE"):
            for item in value.split(","):
                wall = _wall(item.strip(), params, series)
                (rset.rdate if name == "RDATE" else rset.exdate)(wall)
    found: list[Instant] = []
    upper_wall = upper.astimezone(tz).replace(tzinfo=None)
    for visited, wall in enumerate(rset):
        if wall >= upper_wall + timedelta(days=1) or visited > 200_000 or len(found) >= options.max_instances:
            break
        original: Instant = wall.replace(tzinfo=tz) if not series.all_day else wall.date()
        start = to_instant(original, tz)
        end = to_instant(series.end_of(original), tz)
        if start >= upper or (lower is not None and end <= lower):
            continue
        found.append(original)
    return found


def instance_id(master_id: str, original: Instant, options: GoogleEmulatorOptions) -> str:
    if isinstance(original, datetime):
        return f"{master_id}_{original.astimezone(UTC).strftime(options.instance_id_timed)}"
    return f"{master_id}_{original.strftime(options.instance_id_all_day)}"


# ---------------------------------------------------------------------------------------------------------
# Stored objects


@dataclass
class Override:
    """An exception of one instance: fields laid over the generated instance (status cancelled = removed)."""

    original: Instant
    fields: dict[str, Any]
    changed: int
    etag: str
    updated: str

    @property
    def cancelled(self) -> bool:
        return self.fields.get("status") == "cancelled"


@dataclass
class Tombstone:
    """An instance id a master no longer produces (reported as cancelled in singleEvents sync)."""

    changed: int
    etag: str
    original: Instant | None
    recurring_event_id: str | None


@dataclass
class StoredEvent:
    data: dict[str, Any]
    changed: int
    deleted: bool = False
    overrides: dict[str, Override] = field(default_factory=dict)
    tombstones: dict[str, Tombstone] = field(default_factory=dict)

    @property
    def recurring(self) -> bool:
        return bool(self.data.get("recurrence"))


@dataclass
class Calendar:
    id: str
    summary: str
    time_zone: str
    owner: str
    resource_id: str
    updated: str
    events: dict[str, StoredEvent] = field(default_factory=dict)
    seq: int = 0  # change sequence; sync tokens carry it
    epoch: int = 0  # bumped by invalidate_sync_tokens


@dataclass
class ListEntry:
    calendar_id: str
    summary: str
    access_role: str
    primary: bool
    changed: int
    etag: str


@dataclass
class User:
    id: str
    email: str
    entries: dict[str, ListEntry] = field(default_factory=dict)
    list_seq: int = 0
    list_epoch: int = 0


@dataclass
class Consent:
    email: str
    granted_scopes: list[str] | None
    deny: bool


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    email: str
    scopes: list[str]
    challenge: str | None
    challenge_method: str | None
    with_refresh_token: bool
    expires_at: float
    used: bool = False


@dataclass
class RefreshToken:
    token: str
    email: str
    client_id: str
    scopes: list[str]
    issued_at: float
    revoked: bool = False


@dataclass
class AccessToken:
    token: str
    email: str
    client_id: str
    scopes: list[str]
    expires_at: float
    refresh_token: str | None
    revoked: bool = False


@dataclass
class Channel:
    id: str
    resource_id: str
    resource_uri: str
    address: str
    token: str | None
    expiration_ms: int
    calendar_id: str
    email: str
    client_id: str
    message_number: int = 1
    stopped: bool = False

    def live(self) -> bool:
        return not self.stopped and self.expiration_ms > time.time() * 1000

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "resourceId": self.resource_id,
            "resourceUri": self.resource_uri,
            "address": self.address,
            "token": self.token,
            "expiration": self.expiration_ms,
            "calendar_id": self.calendar_id,
            "user": self.email,
        }


@dataclass
class Cursor:
    """A listing's result snapshot, served page by page."""

    items: list[dict[str, Any]]
    fingerprint: str
    envelope: dict[str, Any]
    sync_token: str | None
    served: int = 0


@dataclass
class Fault:
    method: str
    path_prefix: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    remaining: int


PushCallback = Callable[[Channel, str, int], None]


class GoogleState:
    """All emulator data behind one re-entrant lock."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        access_token_ttl: int,
        page_size_cap: int,
        channel_ttl: int,
        options: GoogleEmulatorOptions,
    ) -> None:
        self.lock = threading.RLock()
        self.options = options
        self.clients: dict[str, str] = {client_id: client_secret}
        self.access_token_ttl = access_token_ttl
        self.page_size_cap = page_size_cap
        self.channel_ttl = channel_ttl
        self.users: dict[str, User] = {}
        self.calendars: dict[str, Calendar] = {}
        self.consent: Consent | None = None
        self.codes: dict[str, AuthCode] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.grants: dict[tuple[str, str], list[str]] = {}  # (email, client_id) → scopes ever granted
        self.channels: dict[str, Channel] = {}
        self.cursors: dict[str, Cursor] = {}
        self.faults: list[Fault] = []
        self.push: PushCallback = lambda channel, state, number: None
        self._rng = random.Random()
        self._last_ms = 0
        self._etags = 0

    # -- small helpers ------------------------------------------------------------------------------------

    def stamp(self) -> str:
        """A strictly increasing `updated` timestamp."""
        self._last_ms = max(self._last_ms + 1, int(time.time() * 1000))
        return rfc3339_ms(self._last_ms)

    def etag(self) -> str:
        self._etags += 1
        return f'"{3181161784712000 + self._etags * 2000}"'

    def calendar(self, calendar_id: str) -> Calendar:
        try:
            return self.calendars[calendar_id]
        except KeyError:
            raise KeyError(f"unknown calendar {calendar_id!r}") from None

    def user(self, email: str) -> User:
        try:
            return self.users[email]
        except KeyError:
            raise KeyError(f"unknown user {email!r}") from None

    def _bump(self, cal: Calendar) -> int:
        cal.seq += 1
        cal.updated = self.stamp()
        return cal.seq

    def changed(self, cal: Calendar) -> None:
        """Queue an `exists` notification on every live channel of `cal`."""
        for channel in self.channels.values():
            if channel.calendar_id == cal.id and channel.live():
                channel.message_number += self._rng.randint(2, 97)
                self.push(channel, "exists", channel.message_number)

    # -- users and calendars -------------------------------------------------------------------------------

    def add_user(self, email: str) -> str:
        if email in self.users:
            raise ValueError(f"user {email!r} exists")
        user = User(id=str(100000000000000000000 + len(self.users) + 1), email=email)
        self.users[email] = user
        self._add_entry(user, email, email, "Europe/Zurich", "owner", primary=True)
        return user.id

    def add_calendar(
        self, email: str, calendar_id: str, summary: str, time_zone: str, access_role: str
    ) -> None:
        if access_role not in ACCESS_ROLES:
            raise ValueError(f"access_role must be one of {ACCESS_ROLES}")
        self._add_entry(self.user(email), calendar_id, summary, time_zone, access_role, primary=False)

    def _add_entry(
        self, user: User, calendar_id: str, summary: str, time_zone: str, role: str, *, primary: bool
    ) -> None:
        ZoneInfo(time_zone)  # validates
        if calendar_id not in self.calendars:
            self.calendars[calendar_id] = Calendar(
                id=calendar_id,
                summary=summary,
                time_zone=time_zone,
                owner=user.email,
                resource_id=secrets.token_urlsafe(20),
                updated=self.stamp(),
            )
        user.list_seq += 1
        user.entries[calendar_id] = ListEntry(calendar_id, summary, role, primary, user.list_seq, self.etag())

    # -- events --------------------------------------------------------------------------------------------

    def instance_map(self, cal: Calendar, data: dict[str, Any]) -> dict[str, Instant]:
        """Instance id → original start for a master (empty for a single event)."""
        if not data.get("recurrence"):
            return {}
        return {
            instance_id(data["id"], o, self.options): o
            for o in occurrences(data, cal.time_zone, self.options)
        }

    def find_occurrence(self, cal: Calendar, ev: StoredEvent, original: Instant) -> Instant | None:
        """`original` if the master produces an instance that starts then."""
        series = series_of(ev.data, cal.time_zone)
        moment = to_instant(original, series.tz)
        window = timedelta(seconds=1) if isinstance(original, datetime) else timedelta(days=1)
        for found in occurrences(
            ev.data, cal.time_zone, self.options, lower=moment - window, upper=moment + window
        ):
            if to_instant(found, series.tz) == moment and isinstance(found, datetime) == isinstance(
                original, datetime
            ):
                return found
        return None

    def put_event(self, calendar_id: str, event: dict[str, Any]) -> str:
        """Create or replace; returns the stored id (an instance id for an exception)."""
        cal = self.calendar(calendar_id)
        if event.get("recurringEventId"):
            return self._put_exception(cal, event)
        data = copy.deepcopy(event)
        event_id = str(data.get("id") or secrets.token_hex(13))
        _check_times(data, cal.time_zone)
        previous = cal.events.get(event_id)
        old_instances = self.instance_map(cal, previous.data) if previous and not previous.deleted else {}
        now = self.stamp()
        data["kind"] = "calendar#event"
        data["id"] = event_id
        data.setdefault("status", "confirmed")
        data.setdefault("htmlLink", f"https://www.google.com/calendar/event?eid={event_id}")
        data.setdefault("creator", {"email": cal.owner})
        data.setdefault("organizer", {"email": cal.owner, "self": True})
        data.setdefault("reminders", {"useDefault": True})
        data.setdefault("eventType", "default")
        if previous:
            data["created"] = previous.data["created"]
            data["iCalUID"] = previous.data["iCalUID"]
            moved = any(
                previous.data.get(k) != data.get(k) for k in ("start", "end", "recurrence", "location")
            )
            data.setdefault("sequence", previous.data.get("sequence", 0) + int(moved))
        else:
            data["created"] = now
            data.setdefault("iCalUID", f"{event_id}@google.com")
            data.setdefault("sequence", 0)
        data["updated"] = now
        data["etag"] = self.etag()
        seq = self._bump(cal)
        stored = StoredEvent(data=data, changed=seq)
        if previous:
            stored.overrides = previous.overrides
            stored.tombstones = previous.tombstones
            if not previous.recurring and stored.recurring and not previous.deleted:
                stored.tombstones[event_id] = Tombstone(seq, self.etag(), None, None)
        new_instances = self.instance_map(cal, data)
        for iid, original in old_instances.items():
            if iid not in new_instances:
                stored.tombstones[iid] = Tombstone(seq, self.etag(), original, event_id)
        for iid in new_instances:
            stored.tombstones.pop(iid, None)
        if stored.recurring:
            stored.tombstones.pop(event_id, None)
        cal.events[event_id] = stored
        self.changed(cal)
        return event_id

    def _put_exception(self, cal: Calendar, event: dict[str, Any]) -> str:
        master = self._master(cal, event["recurringEventId"])
        if "originalStartTime" not in event:
            raise ValueError("an exception needs originalStartTime")
        original = parse_event_time(event["originalStartTime"], series_of(master.data, cal.time_zone).tz_name)
        skip = {
            "id",
            "kind",
            "etag",
            "recurringEventId",
            "originalStartTime",
            "iCalUID",
            "created",
            "updated",
        }
        fields = {k: copy.deepcopy(v) for k, v in event.items() if k not in skip and k != "recurrence"}
        if "start" in fields or "end" in fields:
            _check_times({"start": fields.get("start", {}), "end": fields.get("end", {})}, cal.time_zone)
        iid = self._set_override(cal, master, original, fields, replace=True)
        if event.get("id") not in (None, iid):
            raise ValueError(f"an exception's id is its instance id {iid!r}")
        return iid

    def _master(self, cal: Calendar, master_id: str) -> StoredEvent:
        master = cal.events.get(master_id)
        if master is None or not master.recurring or master.deleted:
            raise KeyError(f"no live recurring event {master_id!r} in {cal.id!r}")
        return master

    def _set_override(
        self, cal: Calendar, master: StoredEvent, original: Instant, fields: dict[str, Any], *, replace: bool
    ) -> str:
        found = self.find_occurrence(cal, master, original)
        if found is None:
            raise ValueError(f"{master.data['id']!r} has no instance starting at {original}")
        iid = instance_id(master.data["id"], found, self.options)
        current = master.overrides.get(iid)
        if current and not replace and not current.cancelled:
            fields = {**current.fields, **fields}
        seq = self._bump(cal)
        master.overrides[iid] = Override(found, fields, seq, self.etag(), self.stamp())
        self.changed(cal)
        return iid

    def delete_event(self, calendar_id: str, event_id: str) -> None:
        cal = self.calendar(calendar_id)
        ev = cal.events.get(event_id)
        if ev is None:
            master_id, _, _ = event_id.rpartition("_")
            master = cal.events.get(master_id)
            if master is not None and master.recurring:
                for iid, original in self.instance_map(cal, master.data).items():
                    if iid == event_id:
                        self.cancel_instance(cal.id, master_id, original)
                        return
            raise KeyError(f"no event {event_id!r} in {calendar_id!r}")
        if ev.deleted:
            raise ValueError(f"{event_id!r} is already deleted")
        ev.deleted = True
        ev.data["status"] = "cancelled"
        ev.data["updated"] = self.stamp()
        ev.data["etag"] = self.etag()
        ev.changed = self._bump(cal)
        self.changed(cal)

    def cancel_instance(self, calendar_id: str, master_id: str, original: Instant) -> str:
        cal = self.calendar(calendar_id)
        return self._set_override(
            cal, self._master(cal, master_id), original, {"status": "cancelled"}, replace=True
        )

    def move_instance(
        self, calendar_id: str, master_id: str, original: Instant, start: dict[str, Any], end: dict[str, Any]
    ) -> str:
        cal = self.calendar(calendar_id)
        _check_times({"start": start, "end": end}, cal.time_zone)
        fields = {"start": copy.deepcopy(start), "end": copy.deepcopy(end)}
        return self._set_override(cal, self._master(cal, master_id), original, fields, replace=False)

    def parse_original(self, calendar_id: str, master_id: str, original_start: str) -> Instant:
        """A test's `original_start` ("2024-01-10", or RFC 3339; naive = the series' zone)."""
        cal = self.calendar(calendar_id)
        if len(original_start) == 10:
            return date.fromisoformat(original_start)
        tz_name = series_of(self._master(cal, master_id).data, cal.time_zone).tz_name
        return parse_event_time({"dateTime": original_start}, tz_name)


def _check_times(data: dict[str, Any], calendar_tz: str) -> None:
    start, end = data.get("start"), data.get("end")
    if not isinstance(start, dict) or not isinstance(end, dict):
        raise ValueError("an event needs start and end")
    if ("date" in start) != ("date" in end) or not (("date" in start) ^ ("dateTime" in start)):
        raise ValueError("start and end need both `date` or both `dateTime`")
    if data.get("recurrence") and "dateTime" in start and not start.get("timeZone"):
        raise ValueError("a recurring event needs start.timeZone (calendar-apis.md 1.6)")
    first = to_instant(parse_event_time(start, calendar_tz), ZoneInfo(calendar_tz))
    last = to_instant(parse_event_time(end, calendar_tz), ZoneInfo(calendar_tz))
    if last < first:
        raise ValueError("end is before start")
