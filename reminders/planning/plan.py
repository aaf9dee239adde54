"""When each reminder of an appointment goes out: a pure function of the appointment, the rules,
the account's policy and `now` (no database, no clock, no network).

All arithmetic is done on UTC instants; local wall-clock times are only built and read through
`zoneinfo`. Python compares and subtracts two datetimes that share a tzinfo by wall clock, which is
wrong across a DST change, so nothing here does arithmetic on local datetimes except on naive
wall-clock values that are resolved explicitly. Results are UTC for a second reason: two datetimes
in different zones never compare equal while one is an ambiguous wall time (PEP 495).

zoneinfo rather than pendulum because the rules want the *first* reading of an ambiguous wall
time, which is zoneinfo's fold=0, while `pendulum.datetime()` defaults to the second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reminders.planning.quiet_hours import QuietHours
from reminders.planning.rules import OffsetUnit, ReminderRule, RuleKind
from reminders.reasons import SkipReason

__all__ = ["QUIET_LEAD", "AppointmentSlot", "PlannedReminder", "PlanningPolicy", "due_time", "plan"]

QUIET_LEAD = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class PlanningPolicy:
    """The account-wide settings planning obeys.

    :raises ValueError: on an unknown zone or a negative late-send lead.
    """

    account_timezone: str = "Europe/Zurich"
    # The zone of an appointment that names none (the calendar's own; else the account's).
    calendar_timezone: str | None = None
    quiet_hours: QuietHours = field(default_factory=QuietHours)
    allow_late_send: bool = False
    late_send_min_lead: timedelta = timedelta(hours=1)
    # How long before quiet hours a reminder moved out of them is sent, so that it is handed
    # over and delivered before they begin (a send planned for their first second is not).
    quiet_lead: timedelta = QUIET_LEAD
    # Reminder times before this instant were never possible: the calendar was not connected
    # yet. A reminder skipped for such a time is no failure (`SkipReason.BEFORE_CONNECTED`).
    known_since: datetime | None = None

    def __post_init__(self) -> None:
        _zone(self.account_timezone)
        if self.calendar_timezone is not None:
            _zone(self.calendar_timezone)
        if self.late_send_min_lead < timedelta(0):
            raise ValueError(f"late_send_min_lead must not be negative, got {self.late_send_min_lead}.")
        if self.quiet_lead < timedelta(0):
            raise ValueError(f"quiet_lead must not be negative, got {self.quiet_lead}.")
        if self.known_since is not None:
            _require_aware(self.known_since, "known_since")

    @property
    def default_timezone(self) -> str:
        """The zone day-based rules are read in for an appointment without one."""
        return self.calendar_timezone or self.account_timezone

    @property
    def sending_window(self) -> QuietHours:
        """The quiet hours a planned send time must stay out of, lead included."""
        return self.quiet_hours.with_lead(self.quiet_lead)


@dataclass(frozen=True, slots=True)
class AppointmentSlot:
    """What planning needs to know about an appointment.

    :raises ValueError: on a naive `starts_at` or an unknown zone.
    """

    starts_at: datetime
    timezone: str | None
    all_day: bool = False

    def __post_init__(self) -> None:
        _require_aware(self.starts_at, "starts_at")
        if self.timezone is not None:
            _zone(self.timezone)


@dataclass(frozen=True, slots=True)
class PlannedReminder:
    """The plan for one rule: a UTC send time, or the reason it will not be sent.

    `due_at` of a too-late skip is the time that had already passed (for explanations); it is None
    for all-day appointments and for rules whose time falls at or after the start.
    """

    rule_id: int
    due_at: datetime | None
    skip_reason: SkipReason | None
    nominal_at: datetime | None
    moved_for_quiet_hours: bool = False
    late_send: bool = False

    @property
    def scheduled(self) -> bool:
        """True when this reminder is to be sent at `due_at`."""
        return self.skip_reason is None


def plan(
    slot: AppointmentSlot, rules: Sequence[ReminderRule], policy: PlanningPolicy, *, now: datetime
) -> list[PlannedReminder]:
    """Plan every rule for one appointment: exactly one entry per rule, in rule order.

    The rule's time is moved earlier out of quiet hours, to `quiet_lead` before they begin; if it
    has then passed, the reminder is skipped (for quiet hours when the rule's own time had not
    passed, as before the connection when it had passed before `known_since`, else as too late),
    or, when the policy allows late sends and the start is at least `late_send_min_lead` away and
    `now` is outside quiet hours (lead included), due right now. A scheduled entry is due at or
    after `now`, strictly before the start, and outside quiet hours and their lead in the
    account's zone.

    :raises ValueError: on a naive `now`.
    """
    _require_aware(now, "now")
    now = now.astimezone(UTC)
    planned = [_plan_rule(slot, rule, policy, now) for rule in rules]
    late = [i for i, p in enumerate(planned) if p.late_send]
    if len(late) > 1:
        # Several passed rules would all go out now: the client needs one message, not several.
        # The one closest to the start stays; the others are planned as if late sends were off.
        keep = max(late, key=lambda i: planned[i].nominal_at or now)
        strict = replace(policy, allow_late_send=False)
        for i in late:
            if i != keep:
                planned[i] = _plan_rule(slot, rules[i], strict, now)
    return planned


def due_time(slot: AppointmentSlot, rule: ReminderRule, policy: PlanningPolicy) -> datetime:
    """The time the rule alone gives (before quiet hours and late sends), in UTC.

    Day-based rules are read in the appointment's own zone (the account's if it has none). The
    result may be at or after the start (a "same day at 18:00" rule for a 10:00 appointment);
    `plan` skips those.
    """
    zone = _zone(slot.timezone or policy.account_timezone)
    start = slot.starts_at.astimezone(UTC)
    if rule.kind is RuleKind.DAY_BEFORE_AT:
        assert rule.at is not None  # guaranteed by ReminderRule
        day = start.astimezone(zone).date() - timedelta(days=rule.days_before)
        return _wall_to_utc(datetime.combine(day, rule.at), zone)
    if rule.unit is not OffsetUnit.DAYS:
        return start - rule.offset
    wall = start.astimezone(zone).replace(tzinfo=None) - timedelta(days=rule.amount)
    nominal = _wall_to_utc(wall, zone)
    # Only a zone that skipped a whole calendar day (Pacific/Apia, 2011-12-30) can push the
    # shifted time onto the start; fall back to exact days rather than remind at the start.
    return nominal if nominal < start else start - rule.offset


def _zone(name: str) -> ZoneInfo:
    # ValueError rather than ZoneInfoNotFoundError (a KeyError), so callers catch one type.
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"Unknown time zone {name!r}; expected an IANA name such as 'Europe/Zurich'."
        ) from None


def _plan_rule(
    slot: AppointmentSlot, rule: ReminderRule, policy: PlanningPolicy, now: datetime
) -> PlannedReminder:
    if slot.all_day:
        # An all-day event is usually a holiday, a birthday or a staff note, not a client
        # appointment, and has no start time to count back from. (A later issue may make this
        # configurable per calendar.)
        return PlannedReminder(rule.id, None, SkipReason.ALL_DAY, None)
    start = slot.starts_at.astimezone(UTC)
    nominal = due_time(slot, rule, policy)
    if nominal >= start:
        return PlannedReminder(rule.id, None, SkipReason.TOO_LATE, nominal)
    account_zone = _zone(policy.account_timezone)
    send_at = policy.sending_window.latest_send_at(nominal, account_zone)
    if send_at is None:
        return PlannedReminder(rule.id, None, SkipReason.TOO_LATE, nominal)
    moved = send_at != nominal
    if send_at >= now:
        return PlannedReminder(rule.id, send_at, None, nominal, moved_for_quiet_hours=moved)
    if _may_send_late(start, policy, account_zone, now):
        return PlannedReminder(rule.id, now, None, nominal, moved_for_quiet_hours=moved, late_send=True)
    reason = _why_passed(nominal, moved, policy, now)
    return PlannedReminder(rule.id, send_at, reason, nominal, moved_for_quiet_hours=moved)


def _why_passed(nominal: datetime, moved: bool, policy: PlanningPolicy, now: datetime) -> SkipReason:
    # The most specific true cause: the rule's own time still ahead means quiet hours pushed the
    # send into the past; a time before the connection was never ours to keep.
    if moved and nominal >= now:
        return SkipReason.QUIET_HOURS
    if policy.known_since is not None and nominal < policy.known_since:
        return SkipReason.BEFORE_CONNECTED
    return SkipReason.TOO_LATE


def _may_send_late(start: datetime, policy: PlanningPolicy, account_zone: ZoneInfo, now: datetime) -> bool:
    # `now < start` matters only for a zero lead: a send at the start is never a reminder.
    return (
        policy.allow_late_send
        and now < start
        and start - now >= policy.late_send_min_lead
        and not policy.sending_window.contains(now.astimezone(account_zone).time())
    )


def _wall_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    # fold=0 reads an ambiguous wall time (fall back) as its first occurrence, and a wall time in a
    # spring-forward gap with the offset from before the gap, which lands the gap's length later.
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}.")
