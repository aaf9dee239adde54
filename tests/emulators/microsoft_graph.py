"""Graph v1.0 endpoints of the Microsoft emulator: me, calendars, events, calendarView(+delta), subscriptions.

Call `handle_graph` with the state lock held. Subscription creation is two-phase (`PendingSubscription`): the
emulator runs the validation handshake without the lock, then calls `finish_subscription`. Behaviour follows
calendar-apis.md §3 and §6.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

from tests.emulators.microsoft_identity import authenticate
from tests.emulators.microsoft_state import (
    CALENDAR_READ_SCOPES,
    CHANGE_TYPES,
    GRAPH_JSON_TYPE,
    SHARED_CALENDAR_SCOPES,
    USER_READ_SCOPES,
    AccessToken,
    ApiError,
    Calendar,
    DeltaCursor,
    MicrosoftState,
    Response,
    Snapshot,
    Subscription,
    SyncState,
    User,
    finish,
    graph_fail,
    graph_timestamp,
    html_to_text,
    known_zone,
    parse_iso,
    removed_entry,
    split_occurrence_id,
    sync_state_gone,
)
from tests.emulators.serving import RecordedRequest

API_PREFIX = "/v1.0"
_DELTA_UNSUPPORTED = ("$select", "$expand", "$filter", "$orderby", "$search")
_WINDOW_PARAMS = ("startDateTime", "endDateTime")


def _ok(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status, json.dumps(payload).encode(), {"Content-Type": GRAPH_JSON_TYPE, **(headers or {})}
    )


def _not_found() -> ApiError:
    return graph_fail(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def _bad(message: str, code: str = "ErrorInvalidParameter") -> ApiError:
    return graph_fail(400, code, message)


def _json_body(req: RecordedRequest) -> dict[str, Any]:
    try:
        body = req.json()
    except ValueError:
        raise _bad("Unable to read JSON request payload.", "BadRequest") from None
    if not isinstance(body, dict):
        raise _bad("Unable to read JSON request payload.", "BadRequest")
    return body


def _require(token: AccessToken, accepted: frozenset[str]) -> None:
    if not set(token.scopes) & accepted:
        raise graph_fail(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")


@dataclass
class Prefs:
    """The request's `Prefer` preferences (comma-separated, several headers joined)."""

    values: dict[str, str]

    @classmethod
    def of(cls, req: RecordedRequest) -> Prefs:
        out: dict[str, str] = {}
        for part in str(req.headers.get("Prefer", "")).split(","):
            name, _, value = part.strip().partition("=")
            if name:
                out[name.strip().lower()] = value.strip().strip('"')
        return cls(out)

    def page_size(self, cap: int) -> int | None:
        raw = self.values.get("odata.maxpagesize", "")
        return min(int(raw), cap) if raw.isdigit() and int(raw) > 0 else None


@dataclass
class View:
    """How to render events for one request."""

    label: str | None  # output zone (None: each event's own)
    text_body: bool
    basic: bool  # Calendars.ReadBasic: no body
    applied: list[str]


def _view(state: MicrosoftState, req: RecordedRequest, token: AccessToken) -> View:
    prefs = Prefs.of(req)
    applied = []
    label = state.options.default_timezone
    wanted = prefs.values.get("outlook.timezone")
    if wanted and known_zone(wanted):
        label = wanted
        applied.append(f'outlook.timezone="{wanted}"')
    text_body = prefs.values.get("outlook.body-content-type", "").lower() == "text"
    if text_body:
        applied.append('outlook.body-content-type="text"')
    basic = not set(token.scopes) & (
        (CALENDAR_READ_SCOPES - {"calendars.readbasic"}) | SHARED_CALENDAR_SCOPES
    )
    return View(label, text_body, basic, applied)


def render(state: MicrosoftState, snapshot: Snapshot, view: View) -> dict[str, Any]:
    out = finish(snapshot, view.label, state.options)
    body = out.get("body") or {}
    if view.basic:
        out.pop("body", None)
        out.pop("bodyPreview", None)
    elif view.text_body and str(body.get("contentType", "html")).lower() == "html":
        out["body"] = {"contentType": "text", "content": html_to_text(str(body.get("content") or ""))}
    return out


# ---------------------------------------------------------------------------------------------------------
# Routing


def handle_graph(
    state: MicrosoftState, req: RecordedRequest, graph_url: str
) -> Response | PendingSubscription:
    """Route one request under /v1.0/."""
    parts = [unquote(p) for p in req.path[len(API_PREFIX) :].strip("/").split("/")]
    token = authenticate(state, req.headers)
    me = state.users[token.email]
    if parts[0] == "subscriptions":
        return _subscriptions(state, req, token, me, parts[1:], graph_url)
    if parts[0] == "me":
        rest = parts[1:]
    elif parts[0] == "users" and len(parts) >= 2:
        other = state.user_by_id(parts[1])
        if other is None:
            raise graph_fail(404, "ErrorInvalidUser", f"The requested user '{parts[1]}' is invalid.")
        if other is not me:
            raise graph_fail(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        rest = parts[2:]
    else:
        raise graph_fail(400, "BadRequest", f"Resource not found for the segment '{parts[0]}'.")
    if req.method != "GET":
        raise graph_fail(405, "Request_BadRequest", "The HTTP method is not supported by the emulator here.")
    if not rest:
        _require(token, USER_READ_SCOPES)
        return _ok(user_resource(me, graph_url))
    _require(token, CALENDAR_READ_SCOPES | SHARED_CALENDAR_SCOPES)
    base = req.path[len(API_PREFIX) :]
    if rest == ["calendars"]:
        return _ok(list_calendars(state, me, req, graph_url, base))
    cal: Calendar | None = None
    tail: list[str] = []
    if rest[0] == "calendars" and len(rest) >= 2:
        cal, tail = me.calendars.get(rest[1]), rest[2:]
        if cal is None:
            raise _not_found()
    elif rest[0] == "calendar":
        cal, tail = me.calendars[me.default_calendar], rest[1:]
    if cal is not None and not tail:
        return _ok(
            {"@odata.context": f"{graph_url}/$metadata#users('{me.oid}')/calendars/$entity"}
            | calendar_resource(state, me, cal)
        )
    if cal is None:
        cal, tail = me.calendars[me.default_calendar], rest
    view = _view(state, req, token)
    if tail == ["calendarView"]:
        return calendar_view(state, me, cal, req, view, graph_url, base)
    if tail == ["calendarView", "delta"]:
        return delta(state, me, cal, req, view, graph_url, base)
    if len(tail) == 2 and tail[0] == "events":
        found = get_event(state, me, cal if rest[0] in ("calendars", "calendar") else None, tail[1])
        context = {"@odata.context": f"{graph_url}/$metadata#users('{me.oid}')/events/$entity"}
        return _ok(context | render(state, found, view), headers=_applied(view.applied))
    raise graph_fail(
        400, "BadRequest", f"Resource not found for the segment '{tail[0] if tail else rest[0]}'."
    )


def _applied(items: list[str]) -> dict[str, str]:
    return {"Preference-Applied": ", ".join(items)} if items else {}


# ---------------------------------------------------------------------------------------------------------
# /me and calendars


def user_resource(user: User, graph_url: str) -> dict[str, Any]:
    given, _, surname = user.name.partition(" ")
    return {
        "@odata.context": f"{graph_url}/$metadata#users/$entity",
        "businessPhones": [],
        "displayName": user.name,
        "givenName": given,
        "jobTitle": None,
        "mail": user.email,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": "en-US",
        "surname": surname or None,
        "userPrincipalName": user.email,
        "id": user.oid,
    }


def calendar_resource(state: MicrosoftState, user: User, cal: Calendar) -> dict[str, Any]:
    owner = state.users.get(cal.owner, user)
    default = cal.id == user.default_calendar
    return {
        "id": cal.id,
        "name": cal.name,
        "color": "auto",
        "hexColor": "",
        "groupClassId": "0006f0b7-0000-0000-c000-000000000046",
        "isDefaultCalendar": default,
        "changeKey": cal.change_key,
        "canShare": cal.can_edit,
        "canViewPrivateItems": cal.can_edit,
        "canEdit": cal.can_edit,
        "isRemovable": not default,
        "isTallyingResponses": True,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "owner": {"name": owner.name, "address": owner.email},
    }


def _int_param(req: RecordedRequest, name: str, default: int, cap: int) -> int:
    raw = req.param(name)
    if raw is None:
        return default
    if not raw.isdigit() or (name == "$top" and not 1 <= int(raw) <= cap):
        raise _bad(f"Invalid value '{raw}' for query parameter {name}.", "BadRequest")
    return int(raw)


def list_calendars(
    state: MicrosoftState, user: User, req: RecordedRequest, graph_url: str, base: str
) -> dict[str, Any]:
    cals = sorted(user.calendars.values(), key=lambda c: c.id != user.default_calendar)
    top = _int_param(req, "$top", state.options.calendars_page_size, 1000)
    skip = _int_param(req, "$skip", 0, 10**9)
    out: dict[str, Any] = {
        "@odata.context": f"{graph_url}/$metadata#users('{user.oid}')/calendars",
        "value": [calendar_resource(state, user, c) for c in cals[skip : skip + top]],
    }
    if skip + top < len(cals):
        out["@odata.nextLink"] = f"{graph_url}{base}?{urlencode({'$top': top, '$skip': skip + top})}"
    return out


# ---------------------------------------------------------------------------------------------------------
# Events


def get_event(state: MicrosoftState, user: User, cal: Calendar | None, event_id: str) -> Snapshot:
    calendars = [cal] if cal is not None else list(user.calendars.values())
    for candidate in calendars:
        ev = candidate.events.get(event_id)
        if ev is not None and not ev.deleted:
            return state.snapshot(user, candidate, ev)
    parts = split_occurrence_id(event_id)
    if parts is not None:
        master_id, original = parts
        for candidate in calendars:
            master = candidate.events.get(master_id)
            if master is None or master.deleted or not master.recurring:
                continue
            override = master.overrides.get(event_id)
            if override is not None and override.cancelled:
                break
            if state.is_occurrence(master, original):
                return state.occurrence_snapshot(user, candidate, master, original, override)
    raise _not_found()


def _window(req: RecordedRequest) -> tuple[datetime, datetime]:
    start, end = req.param("startDateTime"), req.param("endDateTime")
    if not start or not end:
        raise _bad(
            "This request requires a time window specified by the query string parameters StartDateTime and "
            "EndDateTime."
        )
    try:
        lower, upper = parse_iso(start, UTC), parse_iso(end, UTC)  # no offset: UTC (§3.3)
    except ValueError:
        raise _bad("The value of startDateTime or endDateTime is not a valid ISO 8601 date-time.") from None
    if upper <= lower:
        raise _bad("The EndDateTime must be later than the StartDateTime.")
    return lower, upper


def calendar_view(
    state: MicrosoftState,
    user: User,
    cal: Calendar,
    req: RecordedRequest,
    view: View,
    graph_url: str,
    base: str,
) -> Response:
    lower, upper = _window(req)
    top = _int_param(req, "$top", state.options.calendar_view_page_size, 1000)
    skip = _int_param(req, "$skip", 0, 10**9)
    items = state.window(user, cal, lower, upper)
    out: dict[str, Any] = {
        "@odata.context": f"{graph_url}/$metadata#users('{user.oid}')/calendarView",
        "value": [render(state, s, view) for s in items[skip : skip + top]],
    }
    if skip + top < len(items):
        query = {k: v[0] for k, v in req.query.items()} | {"$top": str(top), "$skip": str(skip + top)}
        out["@odata.nextLink"] = f"{graph_url}{base}?{urlencode(query, safe='$:')}"
    return _ok(out, headers=_applied(view.applied))


# ---------------------------------------------------------------------------------------------------------
# calendarView/delta


def _encode(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(token: str) -> dict[str, Any] | None:
    try:
        payload = json.loads(base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode()))
    except (ValueError, binascii.Error):
        return None
    return payload if isinstance(payload, dict) else None


def delta(
    state: MicrosoftState,
    user: User,
    cal: Calendar,
    req: RecordedRequest,
    view: View,
    graph_url: str,
    base: str,
) -> Response:
    opts = state.options
    for name in _DELTA_UNSUPPORTED:
        if name in req.query:
            message = (
                "The following parameters are not supported with change tracking over the 'CalendarView' "
                f"resource: '{name}'."
            )
            raise _bad(message, "ErrorInvalidUrlQuery")
    prefs = Prefs.of(req)
    size = prefs.page_size(opts.delta_max_page_size)
    applied = list(view.applied)
    if size is not None:
        applied.append(f"odata.maxpagesize={size}")
    applied.append("odata.track-changes")
    page_size = size or opts.delta_page_size
    skip_token, delta_token = req.param("$skiptoken"), req.param("$deltatoken")
    location = f"{graph_url}{base}?$deltatoken=" if opts.sync_state_location else None
    if (skip_token or delta_token) and opts.repeated_window_params == "error":
        for name in _WINDOW_PARAMS:
            if name in req.query:
                raise _bad(f"The query parameter '{name}' may only be given on the initial delta request.")
    if skip_token:
        payload = _decode(skip_token) or {}
        cursor = state.cursors.get(str(payload.get("c")))
        if cursor is None:
            raise sync_state_gone(opts.unknown_token_code, location)
        if cursor.dead_code is not None:
            raise sync_state_gone(cursor.dead_code, location)
        if cursor.path != base:
            raise _bad("The $skiptoken does not belong to this resource.", "BadRequest")
        body = _page(state, str(payload["c"]), cursor, int(payload.get("o", 0)), page_size, view, graph_url)
        return _ok(body, headers=_applied(applied))
    current: list[Snapshot]
    if delta_token is not None:
        sync = state.sync_states.get(delta_token)
        if sync is None:
            raise sync_state_gone(opts.unknown_token_code, location)
        if sync.dead_code is not None:
            raise sync_state_gone(sync.dead_code, location)
        if sync.path != base:
            raise _bad("The $deltatoken does not belong to this resource.", "BadRequest")
        lower, upper = sync.lower, sync.upper
        current = state.window(user, cal, lower, upper)
        ids = {s.id for s in current}
        entries: list[Snapshot | str] = [s for s in current if sync.versions.get(s.id) != s.version]
        entries.extend(i for i in sync.versions if i not in ids)
        if opts.removed_for_outside_changes:
            outside = state.touched_since(cal, sync.seq) - ids - set(sync.versions)
            entries.extend(sorted(outside))
    else:
        lower, upper = _window(req)
        current = state.window(user, cal, lower, upper)
        entries = list(current)
    new_sync = SyncState(
        email=user.email,
        calendar_id=cal.id,
        lower=lower,
        upper=upper,
        versions={s.id: s.version for s in current},
        seq=cal.seq,
        path=base,
    )
    cursor_id = secrets.token_urlsafe(12)
    cursor = DeltaCursor(entries=entries, path=base, sync=new_sync)
    state.cursors[cursor_id] = cursor
    body = _page(state, cursor_id, cursor, 0, page_size, view, graph_url)
    return _ok(body, headers=_applied(applied))


def _page(
    state: MicrosoftState,
    cursor_id: str,
    cursor: DeltaCursor,
    offset: int,
    page_size: int,
    view: View,
    graph_url: str,
) -> dict[str, Any]:
    opts = state.options
    cursor.served += 1
    out: dict[str, Any] = {"@odata.context": f"{graph_url}/$metadata#Collection(event)", "value": []}
    link = f"{graph_url}{cursor.path}"
    empty = (opts.empty_first_delta_page and offset == 0 and cursor.served == 1) or (
        opts.empty_page_every >= 2
        and cursor.served % opts.empty_page_every == 0
        and offset < len(cursor.entries)
    )
    end = offset if empty else offset + page_size
    for entry in cursor.entries[offset:end]:
        out["value"].append(removed_entry(entry) if isinstance(entry, str) else render(state, entry, view))
    if empty or end < len(cursor.entries):
        out["@odata.nextLink"] = f"{link}?$skiptoken={_encode({'c': cursor_id, 'o': end})}"
        return out
    if cursor.sync is None:
        return out
    if cursor.delta_token is None:  # the same deltaLink when the last page is fetched again
        cursor.delta_token = cursor_id + "." + secrets.token_urlsafe(8)
        state.sync_states[cursor.delta_token] = cursor.sync
        limit = opts.max_sync_states
        while limit is not None and len(state.sync_states) > limit:
            state.sync_states.pop(next(iter(state.sync_states)))
    out["@odata.deltaLink"] = f"{link}?$deltatoken={quote(cursor.delta_token, safe='')}"
    return out


# ---------------------------------------------------------------------------------------------------------
# Subscriptions


@dataclass
class PendingSubscription:
    """A validated subscription request waiting for the validation handshake (done without the lock)."""

    subscription: Subscription
    urls: list[str]
    graph_url: str
    application_id: str


def _check_url(state: MicrosoftState, url: object, name: str) -> str:
    scheme = urlsplit(str(url)).scheme if isinstance(url, str) else ""
    if scheme not in ("http", "https") or (
        state.options.require_https_notification_url and scheme != "https"
    ):
        raise _bad(f"Invalid '{name}': the URL must be absolute and use HTTPS.", "InvalidRequest")
    return str(url)


def _expiration(state: MicrosoftState, raw: object) -> datetime:
    if not isinstance(raw, str):
        raise _bad("expirationDateTime is required.", "InvalidRequest")
    try:
        wanted = parse_iso(raw, UTC)
    except ValueError:
        raise _bad(f"Invalid expirationDateTime '{raw}'.", "InvalidRequest") from None
    now = datetime.now(UTC)
    if wanted <= now:
        raise _bad("Subscription expiration must be in the future.", "InvalidRequest")
    limit = state.subscription_max_minutes
    if wanted > now + timedelta(minutes=limit):
        raise graph_fail(
            400, state.options.expiration_error_code, state.options.expiration_error_message.format(max=limit)
        )
    minimum = state.options.subscription_min_minutes
    if minimum is not None and wanted < now + timedelta(minutes=minimum):
        wanted = now + timedelta(minutes=minimum)
    return wanted


def _resource_target(state: MicrosoftState, me: User, resource: object) -> str | None:
    """The calendar a subscription resource watches (None: all of the mailbox)."""
    if not isinstance(resource, str) or not resource.strip("/ "):
        raise _bad("resource is required.", "InvalidRequest")
    parts = [p for p in resource.strip().strip("/").split("/") if p]
    head = parts[0].lower()
    if head == "me":
        rest = parts[1:]
    elif head == "users" and len(parts) >= 2:
        other = state.user_by_id(parts[1])
        if other is None:
            raise graph_fail(404, "ErrorInvalidUser", f"The requested user '{parts[1]}' is invalid.")
        if other is not me:
            raise graph_fail(403, "ExtensionError", "Operation: Create; Exception: [Status Code: Forbidden; "
                             "Reason: Access is denied. Check credentials and try again.]")  # fmt: skip
        rest = parts[2:]
    else:
        rest = []
    lowered = [p.lower() for p in rest]
    if lowered == ["events"]:
        return None if state.options.me_events_covers == "all" else me.default_calendar
    if lowered == ["calendar", "events"]:
        return me.default_calendar
    if len(rest) == 3 and lowered[0] == "calendars" and lowered[2] == "events":
        if rest[1] not in me.calendars:
            raise _not_found()
        return rest[1]
    raise _bad(f"The resource '{resource}' is not supported by the emulator.", "InvalidRequest")


def _subscriptions(
    state: MicrosoftState,
    req: RecordedRequest,
    token: AccessToken,
    me: User,
    rest: list[str],
    graph_url: str,
) -> Response | PendingSubscription:
    app = token.client_id
    if not rest and req.method == "POST":
        _require(token, CALENDAR_READ_SCOPES)
        return begin_subscription(state, token, me, _json_body(req), graph_url)
    if not rest and req.method == "GET":
        mine = [
            s.describe(graph_url, app)
            for s in state.subscriptions.values()
            if s.live() and (s.email, s.client_id) == (me.email, app)
        ]
        return _ok({"@odata.context": f"{graph_url}/$metadata#subscriptions", "value": mine})
    sub = state.subscriptions.get(rest[0]) if rest else None
    if sub is None or not sub.live() or (sub.email, sub.client_id) != (me.email, app):
        raise graph_fail(404, "ResourceNotFound", "The object was not found.")
    if len(rest) == 2 and rest[1] == "reauthorize" and req.method == "POST":
        resume(state, sub)
        return Response(state.options.reauthorize_status)
    if len(rest) != 1:
        raise graph_fail(400, "BadRequest", "Unsupported subscription operation.")
    if req.method == "GET":
        return _ok(sub.describe(graph_url, app))
    if req.method == "DELETE":
        sub.deleted = True
        return Response(204)
    if req.method == "PATCH":
        body = _json_body(req)
        if "lifecycleNotificationUrl" in body:
            raise _bad(
                "lifecycleNotificationUrl can only be set when the subscription is created.", "InvalidRequest"
            )
        sub.expiration = _expiration(state, body.get("expirationDateTime"))
        resume(state, sub)  # a renewal re-authorizes (§3.7)
        return _ok(sub.describe(graph_url, app))
    raise graph_fail(405, "Request_BadRequest", "Method not allowed.")


def begin_subscription(
    state: MicrosoftState, token: AccessToken, me: User, body: dict[str, Any], graph_url: str
) -> PendingSubscription:
    raw_types = body.get("changeType")
    change_types = [t.strip() for t in str(raw_types or "").split(",") if t.strip()]
    if not change_types or any(t not in CHANGE_TYPES for t in change_types):
        raise _bad(f"Invalid changeType '{raw_types}'.", "InvalidRequest")
    notification_url = _check_url(state, body.get("notificationUrl"), "notificationUrl")
    lifecycle = body.get("lifecycleNotificationUrl")
    lifecycle_url = _check_url(state, lifecycle, "lifecycleNotificationUrl") if lifecycle else None
    client_state = body.get("clientState")
    if client_state is not None and (not isinstance(client_state, str) or len(client_state) > 128):
        raise _bad("clientState must be a string of at most 128 characters.", "InvalidRequest")
    calendar_id = _resource_target(state, me, body.get("resource"))
    expiration = _expiration(state, body.get("expirationDateTime"))
    live = [s for s in state.subscriptions.values() if s.live() and s.email == me.email]
    if len(live) >= state.options.max_subscriptions_per_mailbox:
        raise graph_fail(403, "ExtensionError", "The MailboxSubscription limit has been reached.")
    sub = Subscription(
        id=str(uuid.uuid4()),
        resource=str(body["resource"]),
        change_types=change_types,
        notification_url=notification_url,
        lifecycle_url=lifecycle_url,
        client_state=client_state,
        expiration=expiration,
        email=me.email,
        calendar_id=calendar_id,
        client_id=token.client_id,
        creator_id=me.oid,
    )
    urls = [notification_url] + ([lifecycle_url] if lifecycle_url else [])
    return PendingSubscription(sub, urls, graph_url, token.client_id)


def finish_subscription(state: MicrosoftState, pending: PendingSubscription, failure: str | None) -> Response:
    """Store the subscription after a good handshake; 400 ValidationError after a bad one."""
    if failure is not None:
        message = f"Subscription validation request failed. {failure}"
        raise graph_fail(400, "ValidationError", message)
    sub = pending.subscription
    state.subscriptions[sub.id] = sub
    return _ok(sub.describe(pending.graph_url, pending.application_id), status=201)


# ---------------------------------------------------------------------------------------------------------
# Notifications


def resume(state: MicrosoftState, sub: Subscription) -> None:
    """Re-authorized: deliver what was held while paused."""
    sub.paused = False
    held, sub.held = sub.held, []
    if held:
        state.enqueue(sub.notification_url, "notification", {"value": held})


def notify(state: MicrosoftState, user: User, cal: Calendar, event_id: str, change: str) -> None:
    """Queue a change notification on every live subscription watching `cal` (batched per URL)."""
    ev = cal.events.get(event_id)
    etag = f'W/"{ev.change_key}"' if ev is not None else None
    resource = f"Users/{user.oid}/Events/{event_id}"
    batches: dict[str, list[dict[str, Any]]] = {}
    for sub in state.subscriptions.values():
        if not sub.live() or sub.email != user.email or change not in sub.change_types:
            continue
        if sub.calendar_id is not None and sub.calendar_id != cal.id:
            continue
        item = {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": graph_timestamp(sub.expiration),
            "changeType": change,
            "resource": resource,
            "resourceData": {
                "@odata.type": "#Microsoft.Graph.Event",
                "@odata.id": resource,
                "@odata.etag": etag,
                "id": event_id,
            },
            "clientState": sub.client_state,
            "tenantId": state.tenant_id,
        }
        if sub.paused:
            sub.held.append(item)
        else:
            batches.setdefault(sub.notification_url, []).append(item)
    for url, items in batches.items():
        state.enqueue(url, "notification", {"value": copy.deepcopy(items)})


def lifecycle_body(state: MicrosoftState, sub: Subscription, event: str) -> dict[str, Any]:
    return {
        "value": [
            {
                "subscriptionId": sub.id,
                "subscriptionExpirationDateTime": graph_timestamp(sub.expiration),
                "tenantId": state.tenant_id,
                "clientState": sub.client_state,
                "lifecycleEvent": event,
            }
        ]
    }


__all__ = [
    "API_PREFIX",
    "PendingSubscription",
    "finish_subscription",
    "handle_graph",
    "lifecycle_body",
    "notify",
]
