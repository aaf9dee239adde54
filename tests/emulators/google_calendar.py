"""Calendar v3 endpoints of the Google emulator: calendarList, events list/get/instances, watch, stop.

Call `handle_calendar` with the state lock held. Behaviour follows calendar-apis.md §1 and §6.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote, urlsplit
from zoneinfo import ZoneInfo

from tests.emulators.google_oauth import authenticate, require_scope
from tests.emulators.google_state import (
    ACCESS_ROLES,
    CALENDAR_LIST_SCOPES,
    EVENT_SCOPES,
    SCOPE_PREFIX,
    AccessToken,
    ApiError,
    Calendar,
    Channel,
    Cursor,
    GoogleState,
    Instant,
    ListEntry,
    Override,
    Response,
    StoredEvent,
    bad_request,
    edt_of,
    full_sync_required,
    google_error,
    instance_id,
    not_found,
    occurrences,
    parse_event_time,
    series_of,
    to_instant,
)
from tests.emulators.serving import RecordedRequest

API_PREFIX = "/calendar/v3/"
SYNC_FORBIDDEN = (
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
)
_FAR = "9999-12-31T00:00:00Z"
_NOT_QUERY = {"pageToken", "alt", "maxResults", "prettyPrint", "fields", "quotaUser", "key", "access_token"}


def handle_calendar(state: GoogleState, req: RecordedRequest, api_url: str) -> Response:
    """Route one request under /calendar/v3/."""
    parts = [unquote(p) for p in req.path[len(API_PREFIX) :].split("/")]
    token = authenticate(state, req.headers)
    if req.method == "GET" and parts == ["users", "me", "calendarList"]:
        require_scope(token, CALENDAR_LIST_SCOPES)
        return Response.json(200, calendar_list(state, token, req.query))
    if req.method == "POST" and parts == ["channels", "stop"]:
        require_scope(token, {s for s in token.scopes if s.startswith(SCOPE_PREFIX + "calendar")})
        return stop_channel(state, token, _json_body(req))
    if len(parts) >= 3 and parts[0] == "calendars" and parts[2] == "events":
        require_scope(token, EVENT_SCOPES)
        cal, entry = _calendar_for(state, token, parts[1])
        rest = parts[3:]
        if req.method == "GET" and not rest:
            return Response.json(200, list_events(state, cal, entry, req.query))
        if req.method == "POST" and rest == ["watch"]:
            return Response.json(200, watch(state, token, cal, parts[1], _json_body(req), api_url))
        if req.method == "GET" and len(rest) == 1:
            return Response.json(200, get_event(state, cal, rest[0], req.query))
        if req.method == "GET" and len(rest) == 2 and rest[1] == "instances":
            return Response.json(200, list_instances(state, cal, entry, rest[0], req.query))
    raise not_found()


def _json_body(req: RecordedRequest) -> dict[str, Any]:
    try:
        body = req.json()
    except ValueError:
        raise ApiError(400, google_error(400, "parseError", "Parse Error")) from None
    if not isinstance(body, dict):
        raise ApiError(400, google_error(400, "parseError", "Parse Error"))
    return body


def _calendar_for(state: GoogleState, token: AccessToken, calendar_id: str) -> tuple[Calendar, ListEntry]:
    user = state.users.get(token.email)
    if calendar_id == "primary":
        calendar_id = token.email
    entry = user.entries.get(calendar_id) if user else None
    if entry is None or calendar_id not in state.calendars:
        raise not_found()
    return state.calendars[calendar_id], entry


# ---------------------------------------------------------------------------------------------------------
# Query parameters


class Params:
    def __init__(self, query: dict[str, list[str]]) -> None:
        self.query = query

    def text(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def values(self, name: str) -> list[str]:
        return self.query.get(name, [])

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.text(name)
        if value is None:
            return default
        if value.lower() not in ("true", "false"):
            raise bad_request("invalid", f"Invalid boolean value: '{value}'.", name)
        return value.lower() == "true"

    def number(self, name: str, default: int, cap: int) -> int:
        value = self.text(name)
        if value is None:
            return default
        if not value.lstrip("-").isdigit() or int(value) < 1:
            raise bad_request(
                "invalid", f"Invalid value '{value}'. Values must be within the range: [1, {cap}]", name
            )
        return min(int(value), cap)

    def moment(self, name: str) -> datetime | None:
        """RFC 3339 with a mandatory offset (calendar-apis.md 1.2)."""
        value = self.text(name)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None or "T" not in value.upper():
            raise bad_request("badRequest", "Bad Request", name)
        return parsed


def _fingerprint(query: dict[str, list[str]]) -> str:
    return json.dumps(sorted((k, v) for k, v in query.items() if k not in _NOT_QUERY))


def _encode(prefix: str, payload: dict[str, Any]) -> str:
    return prefix + base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def _decode(prefix: str, token: str) -> dict[str, Any] | None:
    if not token.startswith(prefix):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(token[len(prefix) :].encode()))
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


# ---------------------------------------------------------------------------------------------------------
# Rendering


def event_resource(ev: StoredEvent) -> dict[str, Any]:
    return copy.deepcopy(ev.data)


def stub(item: dict[str, Any]) -> dict[str, Any]:
    """The minimal cancelled item (calendar-apis.md 1.5)."""
    out = {"kind": "calendar#event", "etag": item["etag"], "id": item["id"], "status": "cancelled"}
    for key in ("recurringEventId", "originalStartTime"):
        if key in item:
            out[key] = item[key]
    return out


def render_instance(
    state: GoogleState, cal: Calendar, ev: StoredEvent, original: Instant, override: Override | None
) -> dict[str, Any]:
    """One instance of a master, with its exception (if any) laid over it."""
    series = series_of(ev.data, cal.time_zone)
    item = copy.deepcopy(ev.data)
    item.pop("recurrence", None)
    iid = instance_id(ev.data["id"], original, state.options)
    tz_name = None if series.all_day else series.tz_name
    item["id"] = iid
    item["recurringEventId"] = ev.data["id"]
    item["originalStartTime"] = edt_of(original, tz_name)
    item["start"] = edt_of(original, tz_name)
    item["end"] = edt_of(series.end_of(original), tz_name)
    digest = hashlib.sha1(f"{ev.data['etag']}{override.etag if override else ''}{iid}".encode()).hexdigest()
    item["etag"] = f'"{int(digest[:12], 16)}"'
    if override:
        item.update(copy.deepcopy(override.fields))
        item["updated"] = max(item["updated"], override.updated)
    if ev.deleted:
        item["status"] = "cancelled"
    return item


# ---------------------------------------------------------------------------------------------------------
# events.list


@dataclass
class ListQuery:
    single_events: bool
    show_deleted: bool
    since: int | None = None
    time_min: datetime | None = None
    time_max: datetime | None = None
    updated_min: datetime | None = None
    order_by: str | None = None
    q: str | None = None
    ical_uid: str | None = None
    private_props: tuple[str, ...] = ()
    shared_props: tuple[str, ...] = ()
    event_types: tuple[str, ...] = ()
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    @property
    def incremental(self) -> bool:
        return self.since is not None


@dataclass
class Candidate:
    full: dict[str, Any]
    as_stub: bool


def _unbounded(query: ListQuery) -> bool:
    return query.time_min is None and query.time_max is None


def _overlaps(item: dict[str, Any], query: ListQuery) -> bool:
    """timeMin bounds the end, timeMax the start, both exclusive (calendar-apis.md 1.2)."""
    if _unbounded(query):
        return True
    tz_name = item["start"].get("timeZone") or str(query.tz)
    start = to_instant(parse_event_time(item["start"], tz_name), query.tz)
    end = to_instant(parse_event_time(item["end"], tz_name), query.tz)
    if end == start:  # zero-length events still count at their instant
        end = start + timedelta(microseconds=1)
    return (query.time_min is None or end > query.time_min) and (
        query.time_max is None or start < query.time_max
    )


def _expansion_bounds(query: ListQuery) -> tuple[datetime | None, datetime | None]:
    """Original-start bounds generous enough to catch moved instances (the rendered item is then filtered)."""
    if query.incremental:
        return None, None
    slack = timedelta(days=366)
    return (
        query.time_min - slack if query.time_min else None,
        query.time_max + slack if query.time_max else None,
    )


def _instances(state: GoogleState, cal: Calendar, ev: StoredEvent, query: ListQuery) -> Iterator[Candidate]:
    lower, upper = _expansion_bounds(query)
    for original in occurrences(ev.data, cal.time_zone, state.options, lower=lower, upper=upper):
        override = ev.overrides.get(instance_id(ev.data["id"], original, state.options))
        item = render_instance(state, cal, ev, original, override)
        cancelled = ev.deleted or (override is not None and override.cancelled)
        if cancelled:
            if query.incremental or query.show_deleted:
                yield Candidate(item, as_stub=True)
        elif _overlaps(item, query):
            yield Candidate(item, as_stub=False)


def _candidates(state: GoogleState, cal: Calendar, ev: StoredEvent, query: ListQuery) -> Iterator[Candidate]:
    since = query.since if query.since is not None else -1
    if query.single_events and query.incremental:
        for iid, tomb in ev.tombstones.items():
            if tomb.changed > since:
                item: dict[str, Any] = {"etag": tomb.etag, "id": iid}
                if tomb.recurring_event_id and tomb.original is not None:
                    item["recurringEventId"] = tomb.recurring_event_id
                    tz_name = None if not isinstance(tomb.original, datetime) else str(tomb.original.tzinfo)
                    item["originalStartTime"] = edt_of(tomb.original, tz_name)
                yield Candidate(item, as_stub=True)
    if not ev.recurring or not query.single_events:
        if ev.changed > since:
            full = event_resource(ev)
            if ev.deleted:
                if query.incremental or query.show_deleted or query.updated_min:
                    details = query.show_deleted and state.options.deleted_details_with_show_deleted
                    yield Candidate(full, as_stub=not details)
            elif not ev.recurring:
                if _overlaps(full, query):
                    yield Candidate(full, as_stub=False)
            elif _unbounded(query) or any(True for _ in _instances(state, cal, ev, query)):
                yield Candidate(full, as_stub=False)
        if ev.recurring and not ev.deleted:  # exceptions are their own items in master mode
            for override in ev.overrides.values():
                if override.changed > since:
                    item = render_instance(state, cal, ev, override.original, override)
                    if override.cancelled:
                        yield Candidate(item, as_stub=True)
                    elif _overlaps(item, query):
                        yield Candidate(item, as_stub=False)
        return
    if ev.changed > since:
        yield from _instances(state, cal, ev, query)
        return
    for override in ev.overrides.values():
        if override.changed > since and state.find_occurrence(cal, ev, override.original) is not None:
            item = render_instance(state, cal, ev, override.original, override)
            if override.cancelled or _overlaps(item, query):
                yield Candidate(item, as_stub=override.cancelled)


def _matches(item: dict[str, Any], query: ListQuery) -> bool:
    if query.ical_uid and item.get("iCalUID") != query.ical_uid:
        return False
    if query.event_types and item.get("eventType", "default") not in query.event_types:
        return False
    if query.updated_min and datetime.fromisoformat(item["updated"]) < query.updated_min:
        return False
    if query.q:
        text = " ".join(str(item.get(k, "")) for k in ("summary", "description", "location")).lower()
        if not all(word in text for word in query.q.lower().split()):
            return False
    for kind, wanted in (("private", query.private_props), ("shared", query.shared_props)):
        props = item.get("extendedProperties", {}).get(kind, {})
        for pair in wanted:
            key, _, value = pair.partition("=")
            if props.get(key) != value:
                return False
    return True


def collect(state: GoogleState, cal: Calendar, query: ListQuery) -> list[dict[str, Any]]:
    found: list[tuple[Any, int, dict[str, Any]]] = []
    for ev in list(cal.events.values()):
        for candidate in _candidates(state, cal, ev, query):
            full = candidate.full
            if not candidate.as_stub and not _matches(full, query):
                continue
            stale = (
                query.updated_min and datetime.fromisoformat(full.get("updated", _FAR)) < query.updated_min
            )
            if candidate.as_stub and stale:
                continue
            out = stub(full) if candidate.as_stub else full
            if query.order_by == "startTime" and "start" in full:
                key: Any = to_instant(parse_event_time(full["start"], cal.time_zone), query.tz).timestamp()
            elif query.order_by == "updated":
                key = full.get("updated", "")
            else:
                key = 0
            found.append((key, len(found), out))
    if query.order_by is not None:
        found.sort(key=lambda row: (row[0], row[1]))
    return [row[2] for row in found]


def _envelope(state: GoogleState, cal: Calendar, entry: ListEntry, tz_name: str) -> dict[str, Any]:
    return {
        "kind": "calendar#events",
        "etag": f'"p{cal.seq:012d}{cal.epoch:04d}g"',
        "summary": entry.summary,
        "description": "",
        "updated": cal.updated,
        "timeZone": tz_name,
        "accessRole": entry.access_role,
        "defaultReminders": [],
    }


def list_events(
    state: GoogleState, cal: Calendar, entry: ListEntry, query: dict[str, list[str]]
) -> dict[str, Any]:
    p = Params(query)
    max_results = p.number("maxResults", 250, state.page_size_cap)
    page_token = p.text("pageToken")
    if page_token:
        return _serve(state, page_token, query, max_results)
    single, show_deleted = p.flag("singleEvents"), p.flag("showDeleted")
    tz_name = p.text("timeZone") or cal.time_zone
    order_by = p.text("orderBy")
    if order_by not in (None, "startTime", "updated"):
        raise bad_request("invalid", f"Invalid value '{order_by}'.", "orderBy")
    lq = ListQuery(single_events=single, show_deleted=show_deleted, tz=ZoneInfo(cal.time_zone))
    sync_token = p.text("syncToken")
    if sync_token:
        for name in SYNC_FORBIDDEN:
            if name in query:
                message = state.options.sync_token_conflict_message.format(param=name)
                raise bad_request(state.options.sync_token_conflict_reason, message, name)
        token = _decode("sy_", sync_token)
        if (
            token is None
            or token.get("c") != cal.id
            or token.get("e") != cal.epoch
            or token.get("s", 0) > cal.seq
        ):
            raise full_sync_required()
        if state.options.strict_sync_params and (token["se"], token["sd"]) != (single, show_deleted):
            message = "singleEvents and showDeleted must be as in the query that produced the sync token."
            raise bad_request("invalid", message, "syncToken")
        lq.since = token["s"]
        if state.options.incremental_window:
            lq.time_min = datetime.fromisoformat(token["tn"]) if token.get("tn") else None
            lq.time_max = datetime.fromisoformat(token["tx"]) if token.get("tx") else None
    else:
        if order_by == "startTime" and not single:
            raise bad_request(
                "invalid", "The requested ordering is not available for the particular query.", "orderBy"
            )
        lq.time_min, lq.time_max = p.moment("timeMin"), p.moment("timeMax")
        if lq.time_max is not None:
            lq.time_max = lq.time_max.replace(microsecond=0)
        if lq.time_min and lq.time_max and lq.time_max <= lq.time_min:
            raise bad_request("timeRangeEmpty", "The specified time range is empty.", "timeMax")
        lq.updated_min = p.moment("updatedMin")
        lq.order_by, lq.q, lq.ical_uid = order_by, p.text("q"), p.text("iCalUID")
        lq.private_props = tuple(p.values("privateExtendedProperty"))
        lq.shared_props = tuple(p.values("sharedExtendedProperty"))
    lq.event_types = tuple(p.values("eventTypes"))
    items = collect(state, cal, lq)
    max_attendees = p.text("maxAttendees")
    if max_attendees and max_attendees.isdigit():
        for item in items:
            if len(item.get("attendees", [])) > int(max_attendees):
                item["attendees"] = item["attendees"][: int(max_attendees)]
                item["attendeesOmitted"] = True
    next_sync: str | None = None
    if not any(name in query for name in state.options.omit_sync_token_with):
        window = {"tn": lq.time_min.isoformat() if lq.time_min else None}
        window["tx"] = lq.time_max.isoformat() if lq.time_max else None
        payload = {"c": cal.id, "s": cal.seq, "e": cal.epoch, "se": single, "sd": show_deleted, **window}
        next_sync = _encode("sy_", payload)
    return _start(state, items, query, _envelope(state, cal, entry, tz_name), next_sync, max_results)


def _start(
    state: GoogleState,
    items: list[dict[str, Any]],
    query: dict[str, list[str]],
    envelope: dict[str, Any],
    sync_token: str | None,
    max_results: int,
) -> dict[str, Any]:
    cursor_id = secrets.token_urlsafe(9)
    state.cursors[cursor_id] = Cursor(items, _fingerprint(query), envelope, sync_token)
    return _page(state, cursor_id, 0, max_results)


def _serve(
    state: GoogleState, page_token: str, query: dict[str, list[str]], max_results: int
) -> dict[str, Any]:
    payload = _decode("pg_", page_token)
    cursor = state.cursors.get(str(payload.get("c"))) if payload else None
    if payload is None or cursor is None or cursor.fingerprint != _fingerprint(query):
        raise bad_request("invalid", "Invalid page token value.", "pageToken")
    return _page(state, str(payload["c"]), int(payload["o"]), max_results)


def _page(state: GoogleState, cursor_id: str, offset: int, max_results: int) -> dict[str, Any]:
    cursor = state.cursors[cursor_id]
    cursor.served += 1
    out = dict(cursor.envelope)
    every = state.options.empty_page_every
    if every >= 2 and cursor.served % every == 0 and offset < len(cursor.items):
        out["items"] = []
        out["nextPageToken"] = _encode("pg_", {"c": cursor_id, "o": offset})
        return out
    end = offset + max_results
    out["items"] = copy.deepcopy(cursor.items[offset:end])
    if end < len(cursor.items):
        out["nextPageToken"] = _encode("pg_", {"c": cursor_id, "o": end})
    elif cursor.sync_token is not None:
        out["nextSyncToken"] = cursor.sync_token
    return out


# ---------------------------------------------------------------------------------------------------------
# events.get and events.instances


def _resolve(state: GoogleState, cal: Calendar, event_id: str) -> tuple[StoredEvent, Instant | None]:
    """(event, None) for a stored event; (master, original start) for an instance id."""
    ev = cal.events.get(event_id)
    if ev is not None:
        return ev, None
    master_id, _, suffix = event_id.rpartition("_")
    master = cal.events.get(master_id)
    if master is None or not master.recurring:
        raise not_found()
    original: Instant
    try:
        if len(suffix) == 8:
            day = datetime.strptime(suffix, state.options.instance_id_all_day).replace(tzinfo=UTC)
            original = day.date()
        else:
            original = datetime.strptime(suffix, state.options.instance_id_timed).replace(tzinfo=UTC)
    except ValueError:
        raise not_found() from None
    found = state.find_occurrence(cal, master, original)
    if found is None:
        raise not_found()
    return master, found


def get_event(
    state: GoogleState, cal: Calendar, event_id: str, query: dict[str, list[str]]
) -> dict[str, Any]:
    ev, original = _resolve(state, cal, event_id)
    if original is None:
        return event_resource(ev)
    return render_instance(state, cal, ev, original, ev.overrides.get(event_id))


def list_instances(
    state: GoogleState, cal: Calendar, entry: ListEntry, event_id: str, query: dict[str, list[str]]
) -> dict[str, Any]:
    p = Params(query)
    max_results = p.number("maxResults", 250, state.page_size_cap)
    page_token = p.text("pageToken")
    if page_token:
        return _serve(state, page_token, query, max_results)
    ev, original = _resolve(state, cal, event_id)
    if original is not None or not ev.recurring:
        raise not_found()
    if ev.deleted:
        raise ApiError(410, google_error(410, "deleted", "Resource has been deleted"))
    lq = ListQuery(single_events=True, show_deleted=p.flag("showDeleted"), tz=ZoneInfo(cal.time_zone))
    lq.time_min, lq.time_max = p.moment("timeMin"), p.moment("timeMax")
    items = [stub(c.full) if c.as_stub else c.full for c in _instances(state, cal, ev, lq)]
    wanted = p.text("originalStart")
    if wanted:
        items = [i for i in items if i.get("originalStartTime", {}).get("dateTime", "") == wanted]
    envelope = _envelope(state, cal, entry, p.text("timeZone") or cal.time_zone)
    return _start(state, items, query, envelope, None, max_results)


# ---------------------------------------------------------------------------------------------------------
# calendarList.list


def _entry_resource(state: GoogleState, entry: ListEntry) -> dict[str, Any]:
    cal = state.calendars[entry.calendar_id]
    item: dict[str, Any] = {
        "kind": "calendar#calendarListEntry",
        "etag": entry.etag,
        "id": entry.calendar_id,
        "summary": entry.summary,
        "timeZone": cal.time_zone,
        "colorId": "14",
        "backgroundColor": "#9fe1e7",
        "foregroundColor": "#000000",
        "selected": True,
        "accessRole": entry.access_role,
        "defaultReminders": [],
    }
    if entry.primary:
        item["primary"] = True
    return item


def calendar_list(state: GoogleState, token: AccessToken, query: dict[str, list[str]]) -> dict[str, Any]:
    p = Params(query)
    max_results = p.number("maxResults", 100, 250)
    page_token = p.text("pageToken")
    if page_token:
        return _serve(state, page_token, query, max_results)
    user = state.users[token.email]
    since = -1
    sync_token = p.text("syncToken")
    min_role = p.text("minAccessRole")
    if sync_token:
        if min_role is not None:
            raise bad_request(
                state.options.sync_token_conflict_reason, "minAccessRole with syncToken", "minAccessRole"
            )
        decoded = _decode("sl_", sync_token)
        if decoded is None or decoded.get("u") != user.email or decoded.get("e") != user.list_epoch:
            raise full_sync_required()
        since = int(decoded["s"])
    elif min_role is not None and min_role not in ACCESS_ROLES:
        raise bad_request("invalid", f"Invalid value '{min_role}'.", "minAccessRole")
    rank = ACCESS_ROLES.index(min_role) if min_role else 0
    entries = sorted(user.entries.values(), key=lambda e: not e.primary)
    items = [
        _entry_resource(state, e)
        for e in entries
        if e.changed > since and ACCESS_ROLES.index(e.access_role) >= rank
    ]
    envelope = {"kind": "calendar#calendarList", "etag": f'"p{user.list_seq:012d}g"'}
    next_sync = _encode("sl_", {"u": user.email, "s": user.list_seq, "e": user.list_epoch})
    return _start(state, items, query, envelope, next_sync, max_results)


# ---------------------------------------------------------------------------------------------------------
# Push: events.watch and channels.stop


def _expiration(state: GoogleState, body: dict[str, Any]) -> int:
    now_ms = int(time.time() * 1000)
    cap = now_ms + state.options.channel_max_ttl * 1000
    wanted = now_ms + state.channel_ttl * 1000
    try:
        if body.get("expiration") not in (None, ""):
            wanted = int(body["expiration"])
        elif (body.get("params") or {}).get("ttl") not in (None, ""):
            wanted = now_ms + int(body["params"]["ttl"]) * 1000
    except (TypeError, ValueError):
        raise bad_request("invalid", "Invalid expiration.", "expiration") from None
    return min(wanted, cap)


def watch(
    state: GoogleState,
    token: AccessToken,
    cal: Calendar,
    path_calendar_id: str,
    body: dict[str, Any],
    api_url: str,
) -> dict[str, Any]:
    for name in ("id", "type", "address"):
        if not body.get(name):
            raise bad_request("required", f"Required parameter: {name}", name)
    channel_id, address, channel_token = str(body["id"]), str(body["address"]), body.get("token")
    if len(channel_id) > 64 or not all(c.isalnum() or c in "-_+/=" for c in channel_id):
        raise bad_request(
            "channelIdInvalid", "Channel id must match [A-Za-z0-9\\-_\\+/=]+ and be at most 64 chars"
        )
    existing = state.channels.get(channel_id)
    if existing is not None and existing.live():
        raise bad_request("channelIdNotUnique", "Channel id not unique")
    if body["type"] not in ("web_hook", "webhook"):
        raise bad_request("invalid", f"Invalid value for: {body['type']} is not a valid value", "type")
    scheme = urlsplit(address).scheme
    if scheme not in ("http", "https") or (state.options.require_https_address and scheme != "https"):
        raise bad_request("push.webhookUrlNotHttps", f"WebHook callback must be HTTPS: {address}")
    if channel_token is not None and len(str(channel_token)) > 256:
        raise bad_request("invalid", "Channel token must be at most 256 characters", "token")
    resource_uri = f"{api_url}calendars/{quote(path_calendar_id, safe='@')}/events?alt=json"
    channel = Channel(
        id=channel_id,
        resource_id=cal.resource_id,
        resource_uri=resource_uri,
        address=address,
        token=None if channel_token is None else str(channel_token),
        expiration_ms=_expiration(state, body),
        calendar_id=cal.id,
        email=token.email,
        client_id=token.client_id,
    )
    state.channels[channel_id] = channel
    state.push(channel, "sync", 1)
    out: dict[str, Any] = {
        "kind": "api#channel",
        "id": channel.id,
        "resourceId": channel.resource_id,
        "resourceUri": channel.resource_uri,
    }
    if channel.token is not None:
        out["token"] = channel.token
    out["expiration"] = (
        str(channel.expiration_ms) if state.options.expiration_as_string else channel.expiration_ms
    )
    return out


def stop_channel(state: GoogleState, token: AccessToken, body: dict[str, Any]) -> Response:
    for name in ("id", "resourceId"):
        if not body.get(name):
            raise bad_request("required", f"Required parameter: {name}", name)
    channel = state.channels.get(str(body["id"]))
    if channel is None or channel.stopped or channel.resource_id != body["resourceId"]:
        message = f"Channel '{body['id']}' not found for project"
        raise ApiError(404, google_error(404, "notFound", message))
    if (channel.email, channel.client_id) != (token.email, token.client_id):
        raise ApiError(403, google_error(403, "forbidden", "Forbidden"))
    channel.stopped = True
    return Response(state.options.stop_status)
