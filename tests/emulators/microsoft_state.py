"""State, options, error bodies, time zones and recurrence expansion of the Microsoft emulator.

Everything here is guarded by `MicrosoftState.lock`; the HTTP handlers (microsoft_identity, microsoft_graph)
and the test-facing `MicrosoftEmulator` (microsoft.py) take it before touching anything.
"""

from __future__ import annotations

import base64
import copy
import html
import json
import re
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as dtime
from http import HTTPStatus
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from dateutil import rrule as dateutil_rrule  # type: ignore[import-untyped]
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON
from jwt.algorithms import RSAAlgorithm

GRAPH_RESOURCE = "https://graph.microsoft.com/"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
CALENDAR_READ_SCOPES = frozenset({"calendars.read", "calendars.readwrite", "calendars.readbasic"})
SHARED_CALENDAR_SCOPES = frozenset({"calendars.read.shared", "calendars.readwrite.shared"})
USER_READ_SCOPES = frozenset({"user.read", "user.readbasic.all", "user.read.all", "directory.read.all"})
CHANGE_TYPES = ("created", "updated", "deleted")
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")
ICAL_UID_PREFIX = "040000008200E00074C5B7101A82E008"


@dataclass
class MicrosoftEmulatorOptions:
    """Behaviour switches; most cover facts calendar-apis.md marks [UNCONFIRMED]. Mutable at run time."""

    # identity
    tenant_id: str | None = None  # the users' home tenant (tid/utid); a random GUID when None
    redirect_uris: tuple[str, ...] | None = None  # registered redirect URIs; None accepts any http(s)
    code_ttl: float = 600.0
    refresh_in: int | None = None  # adds `refresh_in` to token responses (MSAL refreshes proactively)
    # "verbatim" echoes the requested scope strings; "graph_uri" answers https://graph.microsoft.com/X
    # for Graph scopes and drops offline_access (calendar-apis.md 7.4: which one Entra does is unconfirmed)
    scope_echo: Literal["verbatim", "graph_uri"] = "verbatim"
    revoke_rotated_refresh_tokens: bool = False  # Entra keeps the old one valid (§4.1)
    # Graph calendar data
    default_timezone: str | None = "UTC"  # times without `Prefer: outlook.timezone`; None: the event's own
    all_day_under_timezone: Literal["wall", "convert"] = "wall"  # §3.6 / 7.6 unconfirmed
    me_events_covers: Literal["default", "all"] = "default"  # what "me/events" subscriptions watch
    calendars_page_size: int = 10
    calendar_view_page_size: int = 10
    delta_page_size: int = 10  # without Prefer: odata.maxpagesize
    delta_max_page_size: int = 1000
    empty_first_delta_page: bool = False  # the first page of a round is empty but has a nextLink (§3.4 3P)
    empty_page_every: int = 0  # N >= 2: every Nth delta page is empty but has a nextLink
    repeated_window_params: Literal["error", "ignore"] = "error"  # start/end repeated with a token
    removed_for_outside_changes: bool = True  # §3.4 (b): changed events outside the window come as @removed
    sync_state_status: int = 410
    sync_state_location: bool = True  # 410 carries Location with an empty $deltatoken
    unknown_token_code: str = "SyncStateNotFound"  # a $deltatoken/$skiptoken the emulator never issued
    max_sync_states: int | None = None  # evict the oldest delta tokens beyond this many (§3.5)
    max_instances: int = 2000  # per series and query
    # subscriptions
    subscription_min_minutes: int | None = None  # e.g. 45: shorter requests are raised to it (3P, §3.7)
    expiration_error_code: str = "InvalidRequest"
    expiration_error_message: str = "Subscription expiration can only be {max} minutes in the future."
    max_subscriptions_per_mailbox: int = 1000
    require_https_notification_url: bool = False  # real Graph: True; tests run on loopback http
    validation_timeout: float = 10.0
    notification_timeout: float = 3.0
    notification_retries: int = 0  # retries after 5xx / no answer, as Graph does for up to 4 h
    notification_retry_delay: float = 0.2  # doubled each retry
    notification_ca_file: str | None = None  # trust for https notification URLs
    reauthorize_status: int = 200


# ---------------------------------------------------------------------------------------------------------
# Requests, responses and error bodies


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(payload).encode(), {"Content-Type": JSON_TYPE, **(headers or {})})


JSON_TYPE = "application/json; charset=utf-8"
GRAPH_JSON_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
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


def graph_error(code: str, message: str) -> dict[str, Any]:
    """A Graph error body (calendar-apis.md 3.8)."""
    inner = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": str(uuid.uuid4()),
        "client-request-id": str(uuid.uuid4()),
    }
    return {"error": {"code": code, "message": message, "innerError": inner}}


def graph_fail(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> ApiError:
    return ApiError(status, graph_error(code, message), headers)


def aad_error(
    error: str, code: int, message: str, *, suberror: str | None = None, claims: str | None = None
) -> dict[str, Any]:
    """An Entra token-endpoint error body (calendar-apis.md 4.1)."""
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    body: dict[str, Any] = {
        "error": error,
        "error_description": f"AADSTS{code}: {message} Trace ID: {trace} Correlation ID: {correlation} "
        f"Timestamp: {now}",
        "error_codes": [code],
        "timestamp": now,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }
    if suberror is not None:
        body["suberror"] = suberror
    if claims is not None:
        body["claims"] = claims
    return body


def unauthenticated(message: str) -> ApiError:
    headers = {
        "WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/'
        f'oauth2/authorize", client_id="{GRAPH_APP_ID}"'
    }
    return graph_fail(401, "InvalidAuthenticationToken", message, headers)


def sync_state_gone(code: str, location: str | None) -> ApiError:
    messages = {
        "syncstatenotfound": "The sync state generation is not found; generation=1;[highest=2]",
        "resyncrequired": "Resync required. Replace any local cached copies with data from the server.",
    }
    message = messages.get(code.lower(), "The delta token is no longer valid.")
    return graph_fail(410, code, message, {"Location": location} if location else None)


_FAULT_DEFAULTS = {
    400: ("BadRequest", "Bad request."),
    401: ("InvalidAuthenticationToken", "Access token has expired or is not yet valid."),
    403: ("ErrorAccessDenied", "Access is denied. Check credentials and try again."),
    404: ("ErrorItemNotFound", "The specified object was not found in the store."),
    410: ("syncStateNotFound", "The sync state generation is not found."),
    429: ("TooManyRequests", "Please retry again later."),
    500: ("generalException", "General exception while processing."),
    502: ("BadGateway", "Bad gateway."),
    503: ("ServiceNotAvailable", "The service is temporarily unavailable. Please retry later."),
    504: ("GatewayTimeout", "Gateway timeout."),
}


def default_fault_body(status: int, identity: bool) -> dict[str, Any]:
    """The body an injected fault answers with when the test gives none."""
    if identity:
        if status >= 429:
            return aad_error(
                "temporarily_unavailable", 90033, "A transient error has occurred. Please retry."
            )
        return aad_error("invalid_request", 90000, HTTPStatus(status).phrase + ".")
    code, message = _FAULT_DEFAULTS.get(status, ("UnknownError", HTTPStatus(status).phrase))
    return graph_error(code, message)


# ---------------------------------------------------------------------------------------------------------
# Time zones and Graph date-time text

_UTC_NAMES = frozenset(
    {"utc", "etc/utc", "gmt", "etc/gmt", "z", "tzone://microsoft/utc", "coordinated universal time"}
)


def zone_of(name: str) -> ZoneInfo:
    """An IANA, Windows ("W. Europe Standard Time") or UTC zone name as a ZoneInfo; KeyError if unknown."""
    text = name.strip()
    if text.lower() in _UTC_NAMES:
        return ZoneInfo("UTC")
    for candidate in (WINDOWS_TO_OLSON.get(text), text):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    raise KeyError(f"unknown time zone {name!r}")


def known_zone(name: str) -> bool:
    try:
        zone_of(name)
    except KeyError:
        return False
    return True


def graph_datetime(value: datetime) -> str:
    """A naive Graph dateTime with 7 fractional digits: "2026-11-25T10:00:00.0000000"."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond:06d}0"


def graph_timestamp(value: datetime) -> str:
    """A UTC DateTimeOffset as Graph writes lastModifiedDateTime: "2026-11-25T10:00:00.1234567Z"."""
    return graph_datetime(value.astimezone(UTC)) + "Z"


def utc_seconds(value: datetime) -> str:
    """originalStart: "2026-11-25T09:00:00Z"."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str, default: tzinfo) -> datetime:
    """ISO 8601 with up to 7 fractional digits; naive values are read in `default`."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    match = re.match(r"^(.*T\d\d:\d\d:\d\d)\.(\d+)(.*)$", value)
    if match:
        value = f"{match.group(1)}.{match.group(2)[:6].ljust(6, '0')}{match.group(3)}"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default)
    return parsed


def parse_dtz(edt: Any, what: str) -> tuple[datetime, str]:
    """A dateTimeTimeZone as (aware datetime, zone label)."""
    if not isinstance(edt, dict) or not isinstance(edt.get("dateTime"), str):
        raise ValueError(f"{what} needs {{dateTime, timeZone}}")
    label = str(edt.get("timeZone") or "UTC")
    try:
        return parse_iso(edt["dateTime"], zone_of(label)), label
    except KeyError as exc:
        raise ValueError(f"{what}: {exc.args[0]}") from None


def dtz(value: datetime, label: str) -> dict[str, str]:
    return {"dateTime": graph_datetime(value.astimezone(zone_of(label))), "timeZone": label}


# ---------------------------------------------------------------------------------------------------------
# Recurrence (Graph patternedRecurrence)

_WEEKDAYS = {
    "monday": dateutil_rrule.MO,
    "tuesday": dateutil_rrule.TU,
    "wednesday": dateutil_rrule.WE,
    "thursday": dateutil_rrule.TH,
    "friday": dateutil_rrule.FR,
    "saturday": dateutil_rrule.SA,
    "sunday": dateutil_rrule.SU,
}
_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_FREQ = {
    "daily": dateutil_rrule.DAILY,
    "weekly": dateutil_rrule.WEEKLY,
    "absoluteMonthly": dateutil_rrule.MONTHLY,
    "relativeMonthly": dateutil_rrule.MONTHLY,
    "absoluteYearly": dateutil_rrule.YEARLY,
    "relativeYearly": dateutil_rrule.YEARLY,
}


def _rrule(recurrence: dict[str, Any], wall_start: datetime) -> Any:
    """The dateutil rule of a patternedRecurrence; `wall_start` is the master's naive start wall time."""
    pattern, rng = recurrence.get("pattern") or {}, recurrence.get("range") or {}
    kind = pattern.get("type")
    if kind not in _FREQ:
        raise ValueError(f"unsupported recurrence pattern type {kind!r}")
    try:
        days = [_WEEKDAYS[d.lower()] for d in pattern.get("daysOfWeek") or []]
    except KeyError:
        raise ValueError(f"bad daysOfWeek {pattern.get('daysOfWeek')!r}") from None
    start_date = date.fromisoformat(rng["startDate"]) if rng.get("startDate") else wall_start.date()
    dtstart = datetime.combine(start_date, wall_start.time())
    kwargs: dict[str, Any] = {"dtstart": dtstart, "interval": int(pattern.get("interval") or 1)}
    if kind == "weekly":
        kwargs["byweekday"] = days or [_WEEKDAYS[wall_start.strftime("%A").lower()]]
        kwargs["wkst"] = _WEEKDAYS[str(pattern.get("firstDayOfWeek") or "sunday").lower()]
    elif kind in ("absoluteMonthly", "absoluteYearly"):
        kwargs["bymonthday"] = int(pattern.get("dayOfMonth") or start_date.day)
    elif kind in ("relativeMonthly", "relativeYearly"):
        if not days:
            raise ValueError(f"{kind} needs daysOfWeek")
        kwargs["byweekday"] = days
        kwargs["bysetpos"] = _INDEX[str(pattern.get("index") or "first").lower()]
    if kind in ("absoluteYearly", "relativeYearly"):
        kwargs["bymonth"] = int(pattern.get("month") or start_date.month)
    range_type = rng.get("type", "noEnd")
    if range_type == "endDate":
        kwargs["until"] = datetime.combine(date.fromisoformat(rng["endDate"]), dtime(23, 59, 59))
    elif range_type == "numbered":
        kwargs["count"] = int(rng["numberOfOccurrences"])
    elif range_type != "noEnd":
        raise ValueError(f"unsupported recurrence range type {range_type!r}")
    return dateutil_rrule.rrule(_FREQ[kind], **kwargs)


def overlaps(start: datetime, end: datetime, lower: datetime, upper: datetime) -> bool:
    """calendarView semantics: the event's span meets [lower, upper) (zero-length: its instant)."""
    if end <= start:
        return lower <= start < upper
    return start < upper and end > lower


# ---------------------------------------------------------------------------------------------------------
# Stored objects


@dataclass
class Override:
    """An exception or cancellation of one occurrence (keyed by its occurrence id)."""

    original: datetime  # aware original start
    fields: dict[str, Any]
    start: tuple[datetime, str] | None  # moved start (instant, zone label)
    end: tuple[datetime, str] | None
    cancelled: bool
    change_key: str
    modified: datetime
    seq: int


@dataclass
class StoredEvent:
    data: dict[str, Any]  # the resource without start/end/type/occurrence fields
    start: datetime
    end: datetime
    start_label: str
    end_label: str
    change_key: str
    created: datetime
    modified: datetime
    seq: int
    deleted: bool = False
    overrides: dict[str, Override] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def recurring(self) -> bool:
        return bool(self.data.get("recurrence"))

    @property
    def all_day(self) -> bool:
        return bool(self.data.get("isAllDay"))

    @property
    def zone(self) -> ZoneInfo:
        recurrence_zone = ((self.data.get("recurrence") or {}).get("range") or {}).get("recurrenceTimeZone")
        return zone_of(recurrence_zone or self.start_label)


@dataclass
class Calendar:
    id: str
    name: str
    can_edit: bool
    change_key: str
    owner: str
    events: dict[str, StoredEvent] = field(default_factory=dict)
    seq: int = 0


@dataclass
class User:
    oid: str
    email: str
    name: str
    calendars: dict[str, Calendar] = field(default_factory=dict)
    default_calendar: str = ""


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
    scopes: list[str]  # as requested (granted subset)
    nonce: str | None
    challenge: str | None
    challenge_method: str | None
    max_age: str | None
    expires_at: float
    used: bool = False


@dataclass
class RefreshToken:
    token: str
    email: str
    client_id: str
    issued_at: float
    revoked_code: int | None = None


@dataclass
class AccessToken:
    token: str
    email: str
    client_id: str
    scopes: list[str]  # normalised (lower-case short names)
    expires_at: float


@dataclass
class Subscription:
    id: str
    resource: str
    change_types: list[str]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expiration: datetime
    email: str
    calendar_id: str | None  # None: every calendar of the mailbox
    client_id: str
    creator_id: str
    deleted: bool = False
    removed: bool = False
    paused: bool = False
    held: list[dict[str, Any]] = field(default_factory=list)  # notifications held while paused

    def live(self) -> bool:
        return not self.deleted and not self.removed and self.expiration > datetime.now(UTC)

    def describe(self, graph_url: str, application_id: str) -> dict[str, Any]:
        return {
            "@odata.context": f"{graph_url}/$metadata#subscriptions/$entity",
            "id": self.id,
            "resource": self.resource,
            "applicationId": application_id,
            "changeType": ",".join(self.change_types),
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "notificationQueryOptions": None,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": graph_timestamp(self.expiration),
            "creatorId": self.creator_id,
            "includeResourceData": False,
            "latestSupportedTlsVersion": "v1_2",
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationUrlAppId": None,
        }


@dataclass
class Snapshot:
    """One calendarView item as of a moment: rendered except for its times (added per request)."""

    id: str
    version: str
    resource: dict[str, Any]
    start: datetime
    end: datetime
    start_label: str
    end_label: str
    all_day: bool


@dataclass
class SyncState:
    """What a deltaLink stands for: the window and the items the client holds."""

    email: str
    calendar_id: str
    lower: datetime
    upper: datetime
    versions: dict[str, str]
    seq: int
    path: str
    dead_code: str | None = None


@dataclass
class DeltaCursor:
    """A round's (or calendarView's) result, served page by page."""

    entries: list[Snapshot | str]  # a str is the id of an @removed entry
    path: str
    sync: SyncState | None
    served: int = 0
    dead_code: str | None = None
    delta_token: str | None = None  # set when the last page was served


@dataclass
class Fault:
    method: str
    path_prefix: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    remaining: int


ChangeCallback = Callable[[User, Calendar, str, str], None]  # user, calendar, event id, change type
EnqueueCallback = Callable[[str, str, dict[str, Any]], None]  # url, kind, JSON body


class Signer:
    """The RS256 key that signs id_tokens and access tokens, published at the jwks_uri."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = base64.urlsafe_b64encode(secrets.token_bytes(20)).decode().rstrip("=")

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid, "x5t": self.kid})

    def jwks(self, issuer: str) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "use": "sig", "kid": self.kid, "x5t": self.kid, "issuer": issuer}]}


def b64url_json(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def new_event_id() -> str:
    raw = b"\x00\x00\x1b\x00" + secrets.token_bytes(42)
    return "AAMkA" + base64.urlsafe_b64encode(raw).decode()


def occurrence_id(master_id: str, original: datetime) -> str:
    """Stable per occurrence (exceptions keep it), opaque, and decodable by `split_occurrence_id`."""
    raw = f"occ\x00{master_id}\x00{original.astimezone(UTC):%Y%m%dT%H%M%SZ}".encode()
    return "AAMkO" + base64.urlsafe_b64encode(raw).decode()


def split_occurrence_id(event_id: str) -> tuple[str, datetime] | None:
    if not event_id.startswith("AAMkO"):
        return None
    try:
        tag, master, stamp = base64.urlsafe_b64decode(event_id[5:].encode()).decode().split("\x00")
        moment = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return (master, moment) if tag == "occ" else None


def new_change_key() -> str:
    return base64.b64encode(secrets.token_bytes(15)).decode()


def html_to_text(content: str) -> str:
    text = re.sub(r"(?is)<(script|style).*?</\1>", " ", content)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", text)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return re.sub(r"[ \t\r\f\v]+", " ", text).strip()


class MicrosoftState:
    """All emulator data behind one re-entrant lock."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        tenant: str,
        access_token_ttl: int,
        subscription_max_minutes: int,
        options: MicrosoftEmulatorOptions,
    ) -> None:
        self.lock = threading.RLock()
        self.options = options
        self.tenant = tenant
        self.tenant_id = options.tenant_id or str(uuid.uuid4())
        self.clients: dict[str, str] = {client_id: client_secret}
        self.access_token_ttl = access_token_ttl
        self.subscription_max_minutes = subscription_max_minutes
        self.users: dict[str, User] = {}
        self.consent: Consent | None = None
        self.grants: dict[tuple[str, str], list[str]] = {}  # (email, client) → normalised scopes consented
        self.codes: dict[str, AuthCode] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.interaction_required: set[str] = set()
        self.subscriptions: dict[str, Subscription] = {}
        self.sync_states: dict[str, SyncState] = {}
        self.cursors: dict[str, DeltaCursor] = {}
        self.faults: list[Fault] = []
        self.signer = Signer()
        self.on_change: ChangeCallback = lambda user, cal, event_id, change: None
        self.enqueue: EnqueueCallback = lambda url, kind, body: None  # a POST for the delivery thread
        self._last_stamp = datetime.now(UTC)

    # -- small helpers ------------------------------------------------------------------------------------

    def stamp(self) -> datetime:
        """A strictly increasing UTC timestamp."""
        now = datetime.now(UTC)
        self._last_stamp = max(now, self._last_stamp + timedelta(microseconds=1))
        return self._last_stamp

    def user(self, email: str) -> User:
        try:
            return self.users[email]
        except KeyError:
            raise KeyError(f"unknown user {email!r}") from None

    def user_by_id(self, key: str) -> User | None:
        """A user by object id or UPN (case-insensitive)."""
        for user in self.users.values():
            if key.lower() in (user.oid.lower(), user.email.lower()):
                return user
        return None

    def calendar(self, email: str, calendar_id: str) -> Calendar:
        """A user's calendar; the id "calendar" means the default one (as in /me/calendar)."""
        user = self.user(email)
        if calendar_id == "calendar":
            calendar_id = user.default_calendar
        try:
            return user.calendars[calendar_id]
        except KeyError:
            raise KeyError(f"{email!r} has no calendar {calendar_id!r}") from None

    def _bump(self, cal: Calendar) -> int:
        cal.seq += 1
        return cal.seq

    # -- users and calendars -------------------------------------------------------------------------------

    def add_user(self, email: str, name: str) -> str:
        if email in self.users:
            raise ValueError(f"user {email!r} exists")
        user = User(oid=str(uuid.uuid4()), email=email, name=name or email.split("@")[0].title())
        self.users[email] = user
        calendar_id = "AAMkAD" + base64.urlsafe_b64encode(secrets.token_bytes(33)).decode() + "="
        self.add_calendar(email, calendar_id, "Calendar", can_edit=True, is_default=True)
        return user.oid

    def add_calendar(
        self, email: str, calendar_id: str, name: str, *, can_edit: bool, is_default: bool
    ) -> None:
        user = self.user(email)
        if calendar_id in user.calendars or calendar_id == "calendar":
            raise ValueError(f"{email!r} already has calendar {calendar_id!r}")
        user.calendars[calendar_id] = Calendar(calendar_id, name, can_edit, new_change_key(), email)
        if is_default or not user.default_calendar:
            user.default_calendar = calendar_id

    def find_event(self, user: User, event_id: str) -> tuple[Calendar, StoredEvent] | None:
        for cal in user.calendars.values():
            ev = cal.events.get(event_id)
            if ev is not None:
                return cal, ev
        return None

    # -- events --------------------------------------------------------------------------------------------

    def put_event(self, email: str, calendar_id: str, event: dict[str, Any]) -> str:
        """Create or replace; returns the stored id (an occurrence id for an exception)."""
        cal = self.calendar(email, calendar_id)
        if event.get("seriesMasterId"):
            return self._put_exception(email, cal, event)
        data = copy.deepcopy(event)
        event_id = str(data.get("id") or new_event_id())
        found = self.find_event(self.user(email), event_id)
        if found is not None and found[0] is not cal:
            raise ValueError(f"event {event_id!r} lives in another calendar")
        start, start_label = parse_dtz(data.pop("start", None), "start")
        end, end_label = parse_dtz(data.pop("end", None), "end")
        if end < start:
            raise ValueError("end is before start")
        if data.get("isAllDay"):
            for value, label in ((start, start_label), (end, end_label)):
                if value.astimezone(zone_of(label)).time() != dtime():
                    raise ValueError("an all-day event starts and ends at midnight")
        if data.get("recurrence"):
            _rrule(data["recurrence"], start.astimezone(zone_of(start_label)).replace(tzinfo=None))
        for key in ("type", "seriesMasterId", "originalStart", "@odata.etag", "changeKey"):
            data.pop(key, None)
        previous = cal.events.get(event_id)
        if previous is not None and previous.deleted:
            previous = None
        now = self.stamp()
        data["id"] = event_id
        data.setdefault("subject", "")
        body = data.setdefault("body", {"contentType": "html", "content": ""})
        if "bodyPreview" not in event:
            content = str(body.get("content") or "")
            text = html_to_text(content) if body.get("contentType", "html") == "html" else content
            data["bodyPreview"] = text[:255]
        data.setdefault("originalStartTimeZone", start_label)
        data.setdefault("originalEndTimeZone", end_label)
        if previous is not None:
            data.setdefault("iCalUId", previous.data["iCalUId"])
        else:
            data.setdefault("iCalUId", ICAL_UID_PREFIX + "00000000" + secrets.token_hex(20).upper())
        seq = self._bump(cal)
        stored = StoredEvent(
            data=data,
            start=start,
            end=end,
            start_label=start_label,
            end_label=end_label,
            change_key=new_change_key(),
            created=previous.created if previous else now,
            modified=now,
            seq=seq,
        )
        if previous is not None and previous.recurring and stored.recurring:
            same_series = (previous.data.get("recurrence"), previous.start, previous.end) == (
                data.get("recurrence"),
                start,
                end,
            )
            if same_series:  # Outlook drops exceptions when the pattern or times change
                stored.overrides = previous.overrides
        cal.events[event_id] = stored
        self.on_change(self.user(email), cal, event_id, "updated" if previous else "created")
        return event_id

    def _put_exception(self, email: str, cal: Calendar, event: dict[str, Any]) -> str:
        master = self.master(cal, str(event["seriesMasterId"]))
        if "originalStart" not in event:
            raise ValueError("an exception needs originalStart")
        original = self.resolve_original(master, str(event["originalStart"]))
        skip = {"id", "type", "seriesMasterId", "originalStart", "recurrence", "iCalUId", "changeKey"}
        fields = {
            k: copy.deepcopy(v) for k, v in event.items() if k not in skip and k not in ("start", "end")
        }
        start = parse_dtz(event["start"], "start") if "start" in event else None
        end = parse_dtz(event["end"], "end") if "end" in event else None
        occ = self._set_override(cal, master, original, fields=fields, start=start, end=end, replace=True)
        if event.get("id") not in (None, occ):
            raise ValueError(f"an exception's id is its occurrence id {occ!r}")
        self.on_change(self.user(email), cal, master.id, "updated")
        return occ

    def master(self, cal: Calendar, master_id: str) -> StoredEvent:
        ev = cal.events.get(master_id)
        if ev is None or ev.deleted or not ev.recurring:
            raise KeyError(f"no live series master {master_id!r} in calendar {cal.id!r}")
        return ev

    def expand(self, ev: StoredEvent, lower: datetime, upper: datetime) -> list[datetime]:
        """Original starts of a master whose generated span meets [lower, upper)."""
        tz = ev.zone
        wall_start = ev.start.astimezone(tz).replace(tzinfo=None)
        wall_length = ev.end.astimezone(tz).replace(tzinfo=None) - wall_start
        rule = _rrule(ev.data["recurrence"], wall_start)
        upper_wall = upper.astimezone(tz).replace(tzinfo=None) + timedelta(days=1)
        found: list[datetime] = []
        for visited, wall in enumerate(rule):
            if wall > upper_wall or visited > 200_000 or len(found) >= self.options.max_instances:
                break
            start = wall.replace(tzinfo=tz)
            end = (wall + wall_length).replace(tzinfo=tz)
            if overlaps(start, end, lower, upper):
                found.append(start)
        return found

    def occurrence_span(self, ev: StoredEvent, original: datetime) -> tuple[datetime, datetime]:
        tz = ev.zone
        wall_start = ev.start.astimezone(tz).replace(tzinfo=None)
        wall_length = ev.end.astimezone(tz).replace(tzinfo=None) - wall_start
        wall = original.astimezone(tz).replace(tzinfo=None)
        return wall.replace(tzinfo=tz), (wall + wall_length).replace(tzinfo=tz)

    def is_occurrence(self, ev: StoredEvent, original: datetime) -> bool:
        window = timedelta(seconds=1)
        return any(found == original for found in self.expand(ev, original - window, original + window))

    def resolve_original(self, ev: StoredEvent, text: str) -> datetime:
        """A test's original start: "2026-11-25" (that day's occurrence) or ISO (naive: the series' zone)."""
        tz = ev.zone
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            lower = datetime.combine(day, dtime(), tzinfo=tz)
            for found in self.expand(ev, lower, lower + timedelta(days=1)):
                if found.astimezone(tz).date() == day:
                    return found
            raise ValueError(f"{ev.id!r} has no occurrence on {day}")
        original = parse_iso(text, tz)
        if not self.is_occurrence(ev, original):
            raise ValueError(f"{ev.id!r} has no occurrence starting at {original.isoformat()}")
        return original

    def _set_override(
        self,
        cal: Calendar,
        master: StoredEvent,
        original: datetime,
        *,
        fields: dict[str, Any],
        start: tuple[datetime, str] | None,
        end: tuple[datetime, str] | None,
        replace: bool,
        cancelled: bool = False,
    ) -> str:
        occ = occurrence_id(master.id, original)
        current = master.overrides.get(occ)
        if current is not None and not replace and not current.cancelled:
            fields = {**current.fields, **fields}
            start = start or current.start
            end = end or current.end
        master.overrides[occ] = Override(
            original=original,
            fields=fields,
            start=start,
            end=end,
            cancelled=cancelled,
            change_key=new_change_key(),
            modified=self.stamp(),
            seq=self._bump(cal),
        )
        return occ

    def delete_event(self, email: str, calendar_id: str, event_id: str) -> None:
        cal = self.calendar(email, calendar_id)
        ev = cal.events.get(event_id)
        if ev is None:
            parts = split_occurrence_id(event_id)
            if parts is not None:
                master = self.master(cal, parts[0])
                self.cancel_occurrence(email, cal.id, master.id, parts[1])
                return
            raise KeyError(f"no event {event_id!r} in calendar {calendar_id!r}")
        if ev.deleted:
            raise ValueError(f"{event_id!r} is already deleted")
        ev.deleted = True
        ev.modified = self.stamp()
        ev.seq = self._bump(cal)
        self.on_change(self.user(email), cal, event_id, "deleted")

    def cancel_occurrence(self, email: str, calendar_id: str, master_id: str, original: datetime) -> str:
        cal = self.calendar(email, calendar_id)
        master = self.master(cal, master_id)
        occ = self._set_override(
            cal, master, original, fields={}, start=None, end=None, replace=True, cancelled=True
        )
        self.on_change(self.user(email), cal, master_id, "updated")
        return occ

    def move_occurrence(
        self,
        email: str,
        calendar_id: str,
        master_id: str,
        original: datetime,
        start: dict[str, Any],
        end: dict[str, Any],
    ) -> str:
        cal = self.calendar(email, calendar_id)
        master = self.master(cal, master_id)
        new_start, new_end = parse_dtz(start, "start"), parse_dtz(end, "end")
        if new_end[0] < new_start[0]:
            raise ValueError("end is before start")
        occ = self._set_override(
            cal, master, original, fields={}, start=new_start, end=new_end, replace=False
        )
        self.on_change(self.user(email), cal, master_id, "updated")
        return occ

    # -- rendering -----------------------------------------------------------------------------------------

    def _base(self, user: User, cal: Calendar, ev: StoredEvent) -> dict[str, Any]:
        data = copy.deepcopy(ev.data)
        out: dict[str, Any] = {
            "@odata.etag": f'W/"{ev.change_key}"',
            "id": ev.id,
            "createdDateTime": graph_timestamp(ev.created),
            "lastModifiedDateTime": graph_timestamp(ev.modified),
            "changeKey": ev.change_key,
            "categories": [],
            "transactionId": None,
            "originalStartTimeZone": data.pop("originalStartTimeZone"),
            "originalEndTimeZone": data.pop("originalEndTimeZone"),
            "iCalUId": data.pop("iCalUId"),
            "uid": data.get("uid", data["id"]),
            "reminderMinutesBeforeStart": 15,
            "isReminderOn": True,
            "hasAttachments": False,
            "subject": "",
            "bodyPreview": "",
            "importance": "normal",
            "sensitivity": "normal",
            "isAllDay": False,
            "isCancelled": False,
            "isOrganizer": True,
            "responseRequested": True,
            "seriesMasterId": None,
            "showAs": "busy",
            "type": "seriesMaster" if ev.recurring else "singleInstance",
            "webLink": f"https://outlook.office365.com/owa/?itemid={ev.id}&exvsurl=1&path=/calendar/item",
            "onlineMeetingUrl": None,
            "isOnlineMeeting": False,
            "onlineMeetingProvider": "unknown",
            "allowNewTimeProposals": True,
            "isDraft": False,
            "hideAttendees": False,
            "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
            "location": {"displayName": "", "locationType": "default", "uniqueIdType": "unknown"},
            "locations": [],
            "recurrence": None,
            "attendees": [],
            "organizer": {"emailAddress": {"name": user.name, "address": user.email}},
            "onlineMeeting": None,
        }
        out.update(data)
        location = out.get("location") or {}
        if location.get("displayName") and not out.get("locations"):
            out["locations"] = [location]
        return out

    def snapshot(self, user: User, cal: Calendar, ev: StoredEvent) -> Snapshot:
        """A single event or series master."""
        resource = self._base(user, cal, ev)
        return Snapshot(
            ev.id, ev.change_key, resource, ev.start, ev.end, ev.start_label, ev.end_label, ev.all_day
        )

    def occurrence_snapshot(
        self, user: User, cal: Calendar, ev: StoredEvent, original: datetime, override: Override | None
    ) -> Snapshot:
        """One occurrence (or exception, with `override`) of a master."""
        resource = self._base(user, cal, ev)
        occ = occurrence_id(ev.id, original)
        start, end = self.occurrence_span(ev, original)
        start_label, end_label = ev.start_label, ev.end_label
        day = original.astimezone(ev.zone).date()
        resource.update(
            {
                "id": occ,
                "type": "occurrence",
                "seriesMasterId": ev.id,
                "originalStart": utc_seconds(original),
                "recurrence": None,
                "iCalUId": _occurrence_uid(str(ev.data["iCalUId"]), day),
            }
        )
        version = ev.change_key
        if override is not None:
            resource["type"] = "exception"
            resource.update(copy.deepcopy(override.fields))
            resource["changeKey"] = override.change_key
            resource["@odata.etag"] = f'W/"{override.change_key}"'
            resource["lastModifiedDateTime"] = graph_timestamp(max(ev.modified, override.modified))
            if override.start is not None:
                start, start_label = override.start
            if override.end is not None:
                end, end_label = override.end
            version += "/" + override.change_key
        resource["webLink"] = resource["webLink"].replace(ev.id, occ)
        return Snapshot(occ, version, resource, start, end, start_label, end_label, ev.all_day)

    def window(self, user: User, cal: Calendar, lower: datetime, upper: datetime) -> list[Snapshot]:
        """calendarView of [lower, upper): single events, occurrences and exceptions; never masters."""
        items: list[Snapshot] = []
        for ev in cal.events.values():
            if ev.deleted:
                continue
            if not ev.recurring:
                if overlaps(ev.start, ev.end, lower, upper):
                    items.append(self.snapshot(user, cal, ev))
                continue
            for original in self.expand(ev, lower, upper):
                override = ev.overrides.get(occurrence_id(ev.id, original))
                if override is not None and (override.cancelled or override.start or override.end):
                    continue  # cancelled, or moved: judged by its own times below
                items.append(self.occurrence_snapshot(user, cal, ev, original, override))
            for override in ev.overrides.values():
                if override.cancelled or not (override.start or override.end):
                    continue
                item = self.occurrence_snapshot(user, cal, ev, override.original, override)
                if overlaps(item.start, item.end, lower, upper) and self.is_occurrence(ev, override.original):
                    items.append(item)
        items.sort(key=lambda s: (s.start, s.id))
        return items

    def touched_since(self, cal: Calendar, seq: int) -> set[str]:
        """Ids of single events (live or deleted) changed after `seq`."""
        return {ev.id for ev in cal.events.values() if ev.seq > seq and not ev.recurring}


def _occurrence_uid(master_uid: str, day: date) -> str:
    """Outlook's global object id carries the occurrence date in bytes 16-19 (zero on the master)."""
    stamp = f"{day.year:04X}{day.month:02X}{day.day:02X}"
    if master_uid.startswith(ICAL_UID_PREFIX) and len(master_uid) >= 40:
        return master_uid[:32] + stamp + master_uid[40:]
    return f"{master_uid}-{stamp}"


def finish(snapshot: Snapshot, label: str | None, options: MicrosoftEmulatorOptions) -> dict[str, Any]:
    """The event resource with start/end in zone `label` (None: the event's own zones)."""
    out = copy.deepcopy(snapshot.resource)
    for key, value, own in (
        ("start", snapshot.start, snapshot.start_label),
        ("end", snapshot.end, snapshot.end_label),
    ):
        if label is None:
            out[key] = dtz(value, own)
        elif snapshot.all_day and options.all_day_under_timezone == "wall":
            wall = value.astimezone(zone_of(own)).replace(tzinfo=None)
            out[key] = {"dateTime": graph_datetime(wall), "timeZone": label}
        else:
            out[key] = dtz(value, label)
    return out


def removed_entry(event_id: str) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.event", "id": event_id, "@removed": {"reason": "deleted"}}


def normalise_scope(scope: str) -> str:
    """ "https://graph.microsoft.com/Calendars.Read" and "Calendars.Read" → "calendars.read"."""
    text = scope.strip()
    if text.lower().startswith(GRAPH_RESOURCE):
        text = text[len(GRAPH_RESOURCE) :]
    return text.lower()
