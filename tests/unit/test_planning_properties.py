"""Hypothesis properties of reminder planning: what must hold for every zone, rule and `now`."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import event, given, settings
from hypothesis import strategies as st

from reminders.planning import (
    AppointmentSlot,
    OffsetUnit,
    PlanningPolicy,
    QuietHours,
    ReminderRule,
    RuleKind,
    due_time,
    plan,
)
from reminders.reasons import SkipReason

ZONES = (
    "Europe/Zurich",
    "America/New_York",
    "Australia/Lord_Howe",  # 30-minute DST
    "Asia/Kathmandu",  # +05:45, no DST
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/Sao_Paulo",  # DST changed at midnight until 2019: 00:00 itself did not exist
    "Pacific/Apia",  # skipped 2011-12-30 entirely
    "UTC",
)
YEARS = range(2010, 2029)
PROPERTY_SETTINGS = settings(deadline=None, max_examples=300)


@cache
def transitions(zone_name: str) -> tuple[datetime, ...]:
    """The UTC instants (to the minute) at which the zone's offset changed in YEARS."""
    zone = ZoneInfo(zone_name)
    found = []
    day = datetime(YEARS.start, 1, 1, tzinfo=UTC)
    while day.year < YEARS.stop:
        after = day + timedelta(days=1)
        if day.astimezone(zone).utcoffset() != after.astimezone(zone).utcoffset():
            low, high = day, after
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                same = middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset()
                low, high = (middle, high) if same else (low, middle)
            found.append(high.replace(second=0, microsecond=0))
        day = after
    return tuple(found)


whole_minutes = st.builds(time, st.integers(0, 23), st.integers(0, 59))
# Times that sit on or next to DST changes in some zone, plus anything else.
tricky_times = st.sampled_from(
    [time(0), time(0, 30), time(1), time(1, 30), time(2), time(2, 30), time(3), time(23, 59)]
)
wall_times = st.one_of(tricky_times, whole_minutes, st.sampled_from([time(8), time(18), time(21)]))

before_rules = st.one_of(
    st.builds(lambda n: (n, OffsetUnit.MINUTES), st.integers(1, 3000)),
    st.builds(lambda n: (n, OffsetUnit.HOURS), st.integers(1, 100)),
    st.builds(lambda n: (n, OffsetUnit.DAYS), st.integers(1, 5)),
).map(lambda amount_unit: ReminderRule(0, RuleKind.BEFORE, amount=amount_unit[0], unit=amount_unit[1]))
day_before_at_rules = st.builds(
    lambda at, days: ReminderRule(0, RuleKind.DAY_BEFORE_AT, at=at, days_before=days),
    wall_times,
    st.integers(0, 3),
)
rules = st.one_of(before_rules, day_before_at_rules)
rule_lists = st.lists(rules, max_size=5).map(
    lambda drawn: [
        ReminderRule(i, r.kind, r.amount, r.unit, r.at, r.days_before) for i, r in enumerate(drawn)
    ]
)
quiet_hours = st.builds(QuietHours, wall_times, wall_times)
policies = st.builds(
    PlanningPolicy,
    account_timezone=st.sampled_from(ZONES),
    quiet_hours=quiet_hours,
    allow_late_send=st.booleans(),
    late_send_min_lead=st.sampled_from(
        [timedelta(0), timedelta(minutes=30), timedelta(hours=1), timedelta(hours=3)]
    ),
    quiet_lead=st.sampled_from([timedelta(0), timedelta(minutes=10), timedelta(hours=1)]),
)


@st.composite
def starts(draw: st.DrawFn, zones: tuple[str, ...]) -> datetime:
    """An aware start, most of the time within three days of a DST change of one of `zones`."""
    near = [t for zone in zones for t in transitions(zone)]
    use_transition = draw(st.integers(0, 3)) > 0
    if near and use_transition:
        base = draw(st.sampled_from(near))
        start = base + timedelta(minutes=draw(st.integers(-3 * 1440, 3 * 1440)))
    else:
        naive = draw(st.datetimes(datetime(YEARS.start, 1, 1), datetime(YEARS.stop - 1, 12, 31)))  # noqa: DTZ001
        start = naive.replace(tzinfo=UTC)
    # Appointments arrive in any offset; planning must not care.
    return start.astimezone(ZoneInfo(draw(st.sampled_from(zones))))


@st.composite
def cases(draw: st.DrawFn) -> tuple[AppointmentSlot, list[ReminderRule], PlanningPolicy, datetime]:
    policy = draw(policies)
    zone = draw(st.sampled_from((*ZONES, None)))
    start = draw(starts((zone or policy.account_timezone, policy.account_timezone)))
    now = start + timedelta(minutes=draw(st.integers(-6 * 1440, 1440)), seconds=draw(st.integers(0, 59)))
    return AppointmentSlot(start, zone), draw(rule_lists), policy, now


def is_quiet(instant: datetime, policy: PlanningPolicy) -> bool:
    """Inside quiet hours or the lead before them, where no send may be planned."""
    return policy.sending_window.contains(instant.astimezone(ZoneInfo(policy.account_timezone)).time())


@PROPERTY_SETTINGS
@given(cases())
def test_scheduled_sends_are_before_the_start_outside_quiet_hours_and_not_in_the_past(
    case: tuple[AppointmentSlot, list[ReminderRule], PlanningPolicy, datetime],
) -> None:
    slot, rule_list, policy, now = case
    planned = plan(slot, rule_list, policy, now=now)
    # Compare in UTC: datetimes in different zones never compare equal while one of them is an
    # ambiguous wall time (PEP 495), even when they are the same instant.
    start, now = slot.starts_at.astimezone(UTC), now.astimezone(UTC)

    assert [p.rule_id for p in planned] == [r.id for r in rule_list]
    assert plan(slot, rule_list, policy, now=now) == planned
    for rule, entry in zip(rule_list, planned, strict=True):
        event(f"skip={entry.skip_reason} moved={entry.moved_for_quiet_hours} late={entry.late_send}")
        assert entry.nominal_at == due_time(slot, rule, policy)
        assert entry.skip_reason in (None, SkipReason.TOO_LATE, SkipReason.QUIET_HOURS)
        if entry.skip_reason is SkipReason.QUIET_HOURS:
            # Named only when quiet hours are the cause: the rule's own time had not passed.
            assert entry.moved_for_quiet_hours
            assert entry.nominal_at is not None
            assert entry.nominal_at >= now
        if entry.due_at is not None:
            assert entry.due_at.utcoffset() == timedelta(0)
            assert entry.due_at < start
            assert not is_quiet(entry.due_at, policy)
        if entry.skip_reason is None:
            assert entry.due_at is not None
            assert now <= entry.due_at < start
            if entry.late_send:
                assert entry.due_at == now
                assert start - now >= policy.late_send_min_lead
            else:
                assert entry.nominal_at is not None
                assert entry.due_at <= entry.nominal_at
                assert entry.moved_for_quiet_hours == (entry.due_at != entry.nominal_at)
        else:
            assert not entry.late_send
            assert entry.due_at is None or entry.due_at < now


@PROPERTY_SETTINGS
@given(cases())
def test_all_day_appointments_plan_nothing(
    case: tuple[AppointmentSlot, list[ReminderRule], PlanningPolicy, datetime],
) -> None:
    slot, rule_list, policy, now = case
    all_day = AppointmentSlot(slot.starts_at, slot.timezone, all_day=True)
    planned = plan(all_day, rule_list, policy, now=now)
    assert len(planned) == len(rule_list)
    assert all(p.skip_reason is SkipReason.ALL_DAY and p.due_at is None for p in planned)


def readings(wall: datetime, zone: ZoneInfo) -> list[datetime]:
    """The UTC instants whose local wall-clock time in `zone` is exactly `wall` (0, 1 or 2)."""
    found = set()
    for fold in (0, 1):
        instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == wall:
            found.add(instant)
    return sorted(found)


@PROPERTY_SETTINGS
@given(st.sampled_from(ZONES), before_rules, st.data())
def test_offsets_in_days_keep_the_wall_clock_and_hours_are_exact(
    zone_name: str, rule: ReminderRule, data: st.DataObject
) -> None:
    zone = ZoneInfo(zone_name)
    start = data.draw(starts((zone_name,))).astimezone(UTC)
    nominal = due_time(AppointmentSlot(start, zone_name), rule, PlanningPolicy())
    assert nominal < start
    if rule.unit is not OffsetUnit.DAYS:
        assert nominal == start - rule.offset
        return
    wall = start.astimezone(zone).replace(tzinfo=None) - timedelta(days=rule.amount)
    existing = [instant for instant in readings(wall, zone) if instant < start]
    if existing:
        assert nominal == existing[0]  # the first occurrence of an ambiguous time
    else:  # in a gap: shifted forward, or (whole day skipped) exact days
        assert nominal.astimezone(zone).replace(tzinfo=None) > wall or nominal == start - rule.offset


@PROPERTY_SETTINGS
@given(st.sampled_from(ZONES), day_before_at_rules, st.data())
def test_day_before_at_is_that_wall_time_in_the_appointment_zone(
    zone_name: str, rule: ReminderRule, data: st.DataObject
) -> None:
    zone = ZoneInfo(zone_name)
    start = data.draw(starts((zone_name,)))
    nominal = due_time(AppointmentSlot(start, zone_name), rule, PlanningPolicy(account_timezone="UTC"))
    assert rule.at is not None
    wall = datetime.combine(start.astimezone(zone).date() - timedelta(days=rule.days_before), rule.at)
    existing = readings(wall, zone)
    if existing:
        assert nominal == existing[0]
    else:
        assert nominal.astimezone(zone).replace(tzinfo=None) > wall


@PROPERTY_SETTINGS
@given(st.sampled_from(ZONES), quiet_hours, st.data())
def test_quiet_hours_move_a_send_earlier_and_out_of_the_night(
    zone_name: str, quiet: QuietHours, data: st.DataObject
) -> None:
    zone = ZoneInfo(zone_name)
    instant = data.draw(starts((zone_name,)))
    moved = quiet.latest_send_at(instant, zone)
    instant = instant.astimezone(UTC)  # see the PEP 495 note above
    assert moved is not None
    assert moved <= instant
    assert not quiet.contains(moved.astimezone(zone).time())
    if not quiet.contains(instant.astimezone(zone).time()):
        assert moved == instant
    else:
        event("moved")


@PROPERTY_SETTINGS
@given(quiet_hours)
def test_quiet_hours_boundaries_are_never_quiet(quiet: QuietHours) -> None:
    assert not quiet.contains(quiet.start)
    assert not quiet.contains(quiet.end)


@PROPERTY_SETTINGS
@given(rules, st.integers(0, 10**6))
def test_english_description_parses_back(rule: ReminderRule, rule_id: int) -> None:
    rule = ReminderRule(rule_id, rule.kind, rule.amount, rule.unit, rule.at, rule.days_before)
    assert ReminderRule.parse(rule.describe("en"), id=rule_id) == rule
