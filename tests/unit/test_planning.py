"""Table tests for reminder planning: the DST matrix, quiet hours, late sends, rules."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from reminders.planning import (
    AppointmentSlot,
    OffsetUnit,
    PlannedReminder,
    PlanningPolicy,
    QuietHours,
    ReminderRule,
    RuleKind,
    due_time,
    plan,
)
from reminders.reasons import SkipReason

NO_QUIET_HOURS = QuietHours(time(0), time(0))
# The window's own arithmetic, without the lead that keeps a moved send clear of it.
NO_LEAD = timedelta(0)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def at(iso: str) -> datetime:
    """An aware datetime from ISO text with an explicit offset (which also fixes the DST reading)."""
    value = datetime.fromisoformat(iso)
    assert value.tzinfo is not None
    return value


def local(value: datetime | None, zone: str) -> str:
    """A UTC result as local ISO text with its offset, e.g. "2026-03-28T10:00+01:00"."""
    assert value is not None
    assert value.utcoffset() == timedelta(0)
    return value.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes")


def plan_one(
    starts_at: str,
    rule: str,
    *,
    zone: str | None = "Europe/Zurich",
    now: datetime = LONG_AGO,
    **policy: object,
) -> PlannedReminder:
    (planned,) = plan(
        AppointmentSlot(at(starts_at), zone),
        [ReminderRule.parse(rule, id=7)],
        PlanningPolicy(**policy),  # type: ignore[arg-type]
        now=now,
    )
    assert planned.rule_id == 7
    return planned


# --- DST matrix -------------------------------------------------------------------------------
# Europe/Zurich: spring forward 2026-03-29 02:00 CET → 03:00 CEST, fall back 2026-10-25 03:00 CEST
# → 02:00 CET. America/New_York: 2026-03-08 02:00 EST → 03:00 EDT, 2026-11-01 02:00 EDT → 01:00 EST.
# "1d" keeps the wall-clock time (a time in the gap shifts forward, an ambiguous one takes its first
# occurrence); "24h" and "2h" are exact durations. Quiet hours are off so only DST is at work.
MATRIX_RULES = ("1d", "24h", "2h", "day-before@18:00")
# fmt: off
DST_MATRIX = [
    # zone, appointment, then: 1 day before, 24 h before, 2 h before, the day before at 18:00
    ("Europe/Zurich", "2026-03-28T10:00+01:00", "2026-03-27T10:00+01:00", "2026-03-27T10:00+01:00", "2026-03-28T08:00+01:00", "2026-03-27T18:00+01:00"),  # noqa: E501
    ("Europe/Zurich", "2026-03-29T01:30+01:00", "2026-03-28T01:30+01:00", "2026-03-28T01:30+01:00", "2026-03-28T23:30+01:00", "2026-03-28T18:00+01:00"),  # noqa: E501
    ("Europe/Zurich", "2026-03-29T03:30+02:00", "2026-03-28T03:30+01:00", "2026-03-28T02:30+01:00", "2026-03-29T00:30+01:00", "2026-03-28T18:00+01:00"),  # noqa: E501
    ("Europe/Zurich", "2026-03-29T10:00+02:00", "2026-03-28T10:00+01:00", "2026-03-28T09:00+01:00", "2026-03-29T08:00+02:00", "2026-03-28T18:00+01:00"),  # noqa: E501
    ("Europe/Zurich", "2026-03-30T02:30+02:00", "2026-03-29T03:30+02:00", "2026-03-29T01:30+01:00", "2026-03-30T00:30+02:00", "2026-03-29T18:00+02:00"),  # noqa: E501
    ("Europe/Zurich", "2026-03-30T10:00+02:00", "2026-03-29T10:00+02:00", "2026-03-29T10:00+02:00", "2026-03-30T08:00+02:00", "2026-03-29T18:00+02:00"),  # noqa: E501
    ("Europe/Zurich", "2026-10-24T10:00+02:00", "2026-10-23T10:00+02:00", "2026-10-23T10:00+02:00", "2026-10-24T08:00+02:00", "2026-10-23T18:00+02:00"),  # noqa: E501
    ("Europe/Zurich", "2026-10-25T02:30+02:00", "2026-10-24T02:30+02:00", "2026-10-24T02:30+02:00", "2026-10-25T00:30+02:00", "2026-10-24T18:00+02:00"),  # noqa: E501
    ("Europe/Zurich", "2026-10-25T02:30+01:00", "2026-10-24T02:30+02:00", "2026-10-24T03:30+02:00", "2026-10-25T01:30+02:00", "2026-10-24T18:00+02:00"),  # noqa: E501
    ("Europe/Zurich", "2026-10-25T10:00+01:00", "2026-10-24T10:00+02:00", "2026-10-24T11:00+02:00", "2026-10-25T08:00+01:00", "2026-10-24T18:00+02:00"),  # noqa: E501
    ("Europe/Zurich", "2026-10-26T02:30+01:00", "2026-10-25T02:30+02:00", "2026-10-25T02:30+01:00", "2026-10-26T00:30+01:00", "2026-10-25T18:00+01:00"),  # noqa: E501
    ("Europe/Zurich", "2026-10-26T10:00+01:00", "2026-10-25T10:00+01:00", "2026-10-25T10:00+01:00", "2026-10-26T08:00+01:00", "2026-10-25T18:00+01:00"),  # noqa: E501
    ("America/New_York", "2026-03-07T10:00-05:00", "2026-03-06T10:00-05:00", "2026-03-06T10:00-05:00", "2026-03-07T08:00-05:00", "2026-03-06T18:00-05:00"),  # noqa: E501
    ("America/New_York", "2026-03-08T03:30-04:00", "2026-03-07T03:30-05:00", "2026-03-07T02:30-05:00", "2026-03-08T00:30-05:00", "2026-03-07T18:00-05:00"),  # noqa: E501
    ("America/New_York", "2026-03-08T10:00-04:00", "2026-03-07T10:00-05:00", "2026-03-07T09:00-05:00", "2026-03-08T08:00-04:00", "2026-03-07T18:00-05:00"),  # noqa: E501
    ("America/New_York", "2026-03-09T02:30-04:00", "2026-03-08T03:30-04:00", "2026-03-08T01:30-05:00", "2026-03-09T00:30-04:00", "2026-03-08T18:00-04:00"),  # noqa: E501
    ("America/New_York", "2026-03-09T10:00-04:00", "2026-03-08T10:00-04:00", "2026-03-08T10:00-04:00", "2026-03-09T08:00-04:00", "2026-03-08T18:00-04:00"),  # noqa: E501
    ("America/New_York", "2026-10-31T10:00-04:00", "2026-10-30T10:00-04:00", "2026-10-30T10:00-04:00", "2026-10-31T08:00-04:00", "2026-10-30T18:00-04:00"),  # noqa: E501
    ("America/New_York", "2026-11-01T01:30-04:00", "2026-10-31T01:30-04:00", "2026-10-31T01:30-04:00", "2026-10-31T23:30-04:00", "2026-10-31T18:00-04:00"),  # noqa: E501
    ("America/New_York", "2026-11-01T01:30-05:00", "2026-10-31T01:30-04:00", "2026-10-31T02:30-04:00", "2026-11-01T00:30-04:00", "2026-10-31T18:00-04:00"),  # noqa: E501
    ("America/New_York", "2026-11-01T10:00-05:00", "2026-10-31T10:00-04:00", "2026-10-31T11:00-04:00", "2026-11-01T08:00-05:00", "2026-10-31T18:00-04:00"),  # noqa: E501
    ("America/New_York", "2026-11-02T01:30-05:00", "2026-11-01T01:30-04:00", "2026-11-01T01:30-05:00", "2026-11-01T23:30-05:00", "2026-11-01T18:00-05:00"),  # noqa: E501
    ("America/New_York", "2026-11-02T10:00-05:00", "2026-11-01T10:00-05:00", "2026-11-01T10:00-05:00", "2026-11-02T08:00-05:00", "2026-11-01T18:00-05:00"),  # noqa: E501
]
# fmt: on
DST_CASES = [
    pytest.param(zone, start, rule, expected, id=f"{zone}-{start}-{rule}")
    for zone, start, *expected_times in DST_MATRIX
    for rule, expected in zip(MATRIX_RULES, expected_times, strict=True)
]


@pytest.mark.parametrize(("zone", "starts_at", "rule", "expected"), DST_CASES)
def test_dst_matrix(zone: str, starts_at: str, rule: str, expected: str) -> None:
    policy = PlanningPolicy(account_timezone=zone, quiet_hours=NO_QUIET_HOURS)
    slot = AppointmentSlot(at(starts_at), zone)
    nominal = due_time(slot, ReminderRule.parse(rule), policy)
    assert local(nominal, zone) == expected
    (planned,) = plan(slot, [ReminderRule.parse(rule)], policy, now=LONG_AGO)
    assert planned == PlannedReminder(0, nominal, None, nominal)


def test_dst_matrix_size() -> None:
    assert len(DST_CASES) == 92


def test_day_offset_over_a_skipped_calendar_day_stays_before_the_start() -> None:
    # Samoa skipped 2011-12-30 entirely: "1 day before" has no wall time left and would land on the
    # start itself, so it falls back to exactly 24 hours.
    planned = plan_one("2011-12-31T10:00+14:00", "1d", zone="Pacific/Apia", quiet_hours=NO_QUIET_HOURS)
    assert local(planned.due_at, "Pacific/Apia") == "2011-12-29T10:00-10:00"


# --- quiet hours ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("starts_at", "rule", "expected", "moved"),
    [
        pytest.param(
            "2026-06-11T07:30+02:00", "2h", "2026-06-10T21:00+02:00", True, id="05:30->21:00-evening-before"
        ),
        pytest.param(
            "2026-06-11T00:30+02:00", "2h", "2026-06-10T21:00+02:00", True, id="22:30->21:00-same-evening"
        ),
        pytest.param("2026-06-10T23:01+02:00", "2h", "2026-06-10T21:00+02:00", True, id="21:01->21:00"),
        pytest.param("2026-06-11T09:59+02:00", "2h", "2026-06-10T21:00+02:00", True, id="07:59->21:00"),
        pytest.param(
            "2026-06-10T23:00+02:00", "2h", "2026-06-10T21:00+02:00", False, id="21:00-exactly-stays"
        ),
        pytest.param(
            "2026-06-11T10:00+02:00", "2h", "2026-06-11T08:00+02:00", False, id="08:00-exactly-stays"
        ),
        pytest.param(
            "2026-06-11T09:00+02:00", "day-before@23:00", "2026-06-10T21:00+02:00", True, id="at-23:00"
        ),
        pytest.param(
            "2026-06-11T09:00+02:00", "same-day@06:00", "2026-06-10T21:00+02:00", True, id="same-day"
        ),
        pytest.param(
            "2026-03-29T10:00+02:00", "6h", "2026-03-28T21:00+01:00", True, id="spring-forward-night"
        ),
        pytest.param("2026-10-25T09:00+01:00", "5h", "2026-10-24T21:00+02:00", True, id="fall-back-night"),
    ],
)
def test_quiet_hours_move_earlier(starts_at: str, rule: str, expected: str, moved: bool) -> None:
    planned = plan_one(starts_at, rule, quiet_lead=NO_LEAD)
    assert planned.skip_reason is None
    assert local(planned.due_at, "Europe/Zurich") == expected
    assert planned.moved_for_quiet_hours is moved
    assert (planned.nominal_at != planned.due_at) is moved


@pytest.mark.parametrize(
    ("quiet", "starts_at", "expected"),
    [
        pytest.param(
            QuietHours(time(12), time(14)),
            "2026-06-11T15:00+02:00",
            "2026-06-11T12:00+02:00",
            id="12-14-inside",
        ),
        pytest.param(
            QuietHours(time(12), time(14)), "2026-06-11T16:00+02:00", "2026-06-11T14:00+02:00", id="12-14-end"
        ),
        pytest.param(
            QuietHours(time(12), time(14)),
            "2026-06-11T06:00+02:00",
            "2026-06-11T04:00+02:00",
            id="12-14-night",
        ),
        pytest.param(NO_QUIET_HOURS, "2026-06-11T05:00+02:00", "2026-06-11T03:00+02:00", id="empty"),
        pytest.param(
            QuietHours(time(22), time(22)), "2026-06-11T00:30+02:00", "2026-06-10T22:30+02:00", id="empty-22"
        ),
    ],
)
def test_other_quiet_windows(quiet: QuietHours, starts_at: str, expected: str) -> None:
    planned = plan_one(starts_at, "2h", quiet_hours=quiet, quiet_lead=NO_LEAD)
    assert local(planned.due_at, "Europe/Zurich") == expected


def test_quiet_start_repeated_at_fall_back_takes_the_later_reading() -> None:
    # 01:45 EST (the second 01:45) is quiet; the quiet start 01:30 happened twice, the later one is closest.
    planned = plan_one(
        "2026-11-01T03:45-05:00",
        "2h",
        zone="America/New_York",
        account_timezone="America/New_York",
        quiet_hours=QuietHours(time(1, 30), time(3)),
        quiet_lead=NO_LEAD,
    )
    assert local(planned.nominal_at, "America/New_York") == "2026-11-01T01:45-05:00"
    assert local(planned.due_at, "America/New_York") == "2026-11-01T01:30-05:00"


def test_quiet_start_inside_the_spring_gap_goes_before_the_gap() -> None:
    # 02:30 does not exist on 2026-03-29; read forward it is 03:30, inside the window, so the send
    # goes out before the clocks jump instead.
    planned = plan_one(
        "2026-03-29T08:00+02:00", "3h", quiet_hours=QuietHours(time(2, 30), time(6)), quiet_lead=NO_LEAD
    )
    assert local(planned.nominal_at, "Europe/Zurich") == "2026-03-29T05:00+02:00"
    assert local(planned.due_at, "Europe/Zurich") == "2026-03-29T01:30+01:00"
    assert planned.moved_for_quiet_hours


@pytest.mark.parametrize(
    ("quiet", "when", "expected"),
    [
        (QuietHours(), time(20, 59), False),
        (QuietHours(), time(21, 0), False),
        (QuietHours(), time(21, 0, 1), True),
        (QuietHours(), time(23, 59), True),
        (QuietHours(), time(0, 0), True),
        (QuietHours(), time(7, 59, 59), True),
        (QuietHours(), time(8, 0), False),
        (QuietHours(), time(12, 0), False),
        (QuietHours(time(12), time(14)), time(12), False),
        (QuietHours(time(12), time(14)), time(13), True),
        (QuietHours(time(12), time(14)), time(14), False),
        (QuietHours(time(12), time(14)), time(23), False),
        (QuietHours(time(21), time(21)), time(21), False),
        (QuietHours(time(21), time(21)), time(3), False),
    ],
)
def test_quiet_hours_contains(quiet: QuietHours, when: time, expected: bool) -> None:
    assert quiet.contains(when) is expected


# --- appointment zone differs from the account zone -------------------------------------------
def test_day_before_at_is_read_in_the_appointment_zone_and_quiet_hours_in_the_account_zone() -> None:
    # 18:00 in New York is midnight in Zurich, inside the account's quiet hours: moved to 21:00 Zurich.
    planned = plan_one("2026-06-11T10:00-04:00", "day-before@18:00", zone="America/New_York")
    assert local(planned.nominal_at, "America/New_York") == "2026-06-10T18:00-04:00"
    assert local(planned.due_at, "Europe/Zurich") == "2026-06-10T20:50+02:00"
    assert local(planned.due_at, "America/New_York") == "2026-06-10T14:50-04:00"
    assert planned.moved_for_quiet_hours


def test_day_before_at_in_the_appointment_zone_outside_quiet_hours() -> None:
    planned = plan_one("2026-06-11T10:00-04:00", "day-before@12:00", zone="America/New_York")
    assert local(planned.due_at, "America/New_York") == "2026-06-10T12:00-04:00"
    assert not planned.moved_for_quiet_hours


def test_day_offset_follows_the_appointment_zone_dst_not_the_account_zone() -> None:
    planned = plan_one("2026-03-09T10:00-04:00", "1d", zone="America/New_York")
    assert local(planned.due_at, "America/New_York") == "2026-03-08T10:00-04:00"


def test_appointment_without_zone_uses_the_account_zone() -> None:
    planned = plan_one("2026-06-11T08:00+00:00", "day-before@18:00", zone=None)
    assert local(planned.due_at, "Europe/Zurich") == "2026-06-10T18:00+02:00"


def test_the_offset_of_starts_at_does_not_matter() -> None:
    rules = [ReminderRule.parse(text, id=i) for i, text in enumerate(MATRIX_RULES)]
    policy = PlanningPolicy()
    in_zurich = plan(
        AppointmentSlot(at("2026-06-11T10:00+02:00"), "Europe/Zurich"), rules, policy, now=LONG_AGO
    )
    in_utc = plan(AppointmentSlot(at("2026-06-11T08:00+00:00"), "Europe/Zurich"), rules, policy, now=LONG_AGO)
    assert in_zurich == in_utc


# --- too late and late sends ------------------------------------------------------------------
APPOINTMENT = "2026-06-11T10:00+02:00"


def test_passed_reminder_is_too_late() -> None:
    planned = plan_one(APPOINTMENT, "24h", now=at("2026-06-10T12:00+02:00"))
    assert planned.skip_reason is SkipReason.TOO_LATE
    assert local(planned.due_at, "Europe/Zurich") == "2026-06-10T10:00+02:00"
    assert planned.nominal_at == planned.due_at
    assert not planned.late_send


def test_due_exactly_now_is_not_too_late() -> None:
    now = at("2026-06-11T08:00+02:00")
    planned = plan_one(APPOINTMENT, "2h", now=now)
    assert planned.skip_reason is None
    assert planned.due_at == now
    assert not planned.late_send
    late = plan_one(APPOINTMENT, "2h", now=now + timedelta(microseconds=1))
    assert late.skip_reason is SkipReason.TOO_LATE


def test_moved_time_passed_though_the_nominal_time_has_not_names_quiet_hours() -> None:
    planned = plan_one("2026-06-11T07:30+02:00", "2h", now=at("2026-06-10T22:00+02:00"))
    assert planned.skip_reason is SkipReason.QUIET_HOURS
    assert planned.moved_for_quiet_hours
    assert local(planned.due_at, "Europe/Zurich") == "2026-06-10T20:50+02:00"


def test_connected_at_21_03_for_22_06_names_quiet_hours_not_a_late_save() -> None:
    # The reported case: a 60-minute rule gives 21:06, inside quiet hours; moved before them it
    # had passed when the calendar was read at 21:03.
    connected = at("2026-12-02T21:03+01:00")
    planned = plan_one("2026-12-02T22:06+01:00", "60m", now=connected, known_since=connected)
    assert planned.skip_reason is SkipReason.QUIET_HOURS
    assert local(planned.nominal_at, "Europe/Zurich") == "2026-12-02T21:06+01:00"


@pytest.mark.parametrize(
    ("nominal", "expected"),
    [
        pytest.param("2026-06-11T20:49+02:00", "2026-06-11T20:49+02:00", id="before-the-lead-stays"),
        pytest.param("2026-06-11T20:50+02:00", "2026-06-11T20:50+02:00", id="at-the-lead-stays"),
        pytest.param("2026-06-11T20:55+02:00", "2026-06-11T20:50+02:00", id="inside-the-lead-moves"),
        pytest.param("2026-06-11T21:00+02:00", "2026-06-11T20:50+02:00", id="the-first-second-moves"),
        pytest.param("2026-06-12T05:30+02:00", "2026-06-11T20:50+02:00", id="night-moves"),
        pytest.param("2026-06-12T08:00+02:00", "2026-06-12T08:00+02:00", id="the-end-stays"),
    ],
)
def test_a_send_moved_out_of_quiet_hours_goes_out_before_they_begin(nominal: str, expected: str) -> None:
    # Handing a message over takes time: planned for 21:00:00 it would arrive in quiet hours.
    start = (at(nominal) + timedelta(hours=2)).isoformat()
    planned = plan_one(start, "2h")
    assert planned.skip_reason is None
    assert local(planned.due_at, "Europe/Zurich") == expected


def test_no_late_send_in_the_lead_before_quiet_hours() -> None:
    # A late send at 20:55 would be handed over as quiet hours begin.
    planned = plan_one("2026-06-11T23:30+02:00", "3h", now=at("2026-06-11T20:55+02:00"), allow_late_send=True)
    assert planned.skip_reason is SkipReason.TOO_LATE


def test_quiet_hours_with_a_lead_stay_none_when_there_are_none() -> None:
    assert NO_QUIET_HOURS.with_lead(timedelta(minutes=10)) == NO_QUIET_HOURS
    assert QuietHours(time(21), time(8)).with_lead(timedelta(minutes=10)) == QuietHours(time(20, 50), time(8))
    assert QuietHours(time(0, 5), time(8)).with_lead(timedelta(minutes=10)) == QuietHours(
        time(23, 55), time(8)
    )


@pytest.mark.parametrize(
    ("now", "known_since", "expected"),
    [
        pytest.param(
            "2026-06-11T09:00+02:00", "2026-06-11T09:00+02:00", SkipReason.BEFORE_CONNECTED, id="first-read"
        ),
        pytest.param(
            "2026-06-11T09:00+02:00",
            "2026-06-10T11:00+02:00",
            SkipReason.BEFORE_CONNECTED,
            id="connected-after",
        ),
        pytest.param(
            "2026-06-11T09:00+02:00", "2026-06-10T06:00+02:00", SkipReason.TOO_LATE, id="saved-after-its-time"
        ),
        pytest.param("2026-06-11T09:00+02:00", None, SkipReason.TOO_LATE, id="unknown"),
    ],
)
def test_a_time_passed_before_the_calendar_was_connected_is_no_late_save(
    now: str, known_since: str | None, expected: SkipReason
) -> None:
    # The 24-hour rule of a 10:00 appointment falls at 10:00 the day before.
    planned = plan_one(
        "2026-06-11T10:00+02:00",
        "24h",
        now=at(now),
        known_since=at(known_since) if known_since else None,
    )
    assert planned.skip_reason is expected


def test_appointment_already_started() -> None:
    planned = plan_one(APPOINTMENT, "2h", now=at("2026-06-11T10:30+02:00"), allow_late_send=True)
    assert planned.skip_reason is SkipReason.TOO_LATE


def test_late_send_never_at_the_start_even_with_no_minimum_lead() -> None:
    planned = plan_one(
        APPOINTMENT, "2h", now=at(APPOINTMENT), allow_late_send=True, late_send_min_lead=timedelta(0)
    )
    assert planned.skip_reason is SkipReason.TOO_LATE


@pytest.mark.parametrize("rule", ["same-day@18:00", "same-day@10:00"])
def test_rule_time_at_or_after_the_start_is_too_late_without_a_time(rule: str) -> None:
    planned = plan_one(APPOINTMENT, rule, allow_late_send=True)
    assert planned.skip_reason is SkipReason.TOO_LATE
    assert planned.due_at is None
    assert planned.nominal_at is not None


@pytest.mark.parametrize(
    ("now", "lead", "late"),
    [
        pytest.param("2026-06-11T08:30+02:00", timedelta(hours=1), True, id="1h30-away"),
        pytest.param("2026-06-11T09:00+02:00", timedelta(hours=1), True, id="exactly-1h-away"),
        pytest.param("2026-06-11T09:01+02:00", timedelta(hours=1), False, id="59min-away"),
        pytest.param("2026-06-11T09:15+02:00", timedelta(minutes=30), True, id="custom-lead"),
        pytest.param("2026-06-11T07:00+02:00", timedelta(hours=1), False, id="now-in-quiet-hours"),
        pytest.param("2026-06-11T08:00+02:00", timedelta(hours=1), True, id="now-at-quiet-end"),
    ],
)
def test_late_send(now: str, lead: timedelta, late: bool) -> None:
    planned = plan_one(APPOINTMENT, "24h", now=at(now), allow_late_send=True, late_send_min_lead=lead)
    assert local(planned.nominal_at, "Europe/Zurich") == "2026-06-10T10:00+02:00"
    if late:
        assert planned.skip_reason is None
        assert planned.late_send
        assert planned.due_at == at(now)
    else:
        assert planned.skip_reason is SkipReason.TOO_LATE
        assert not planned.late_send


def test_late_send_is_off_by_default() -> None:
    planned = plan_one(APPOINTMENT, "24h", now=at("2026-06-11T08:30+02:00"))
    assert planned.skip_reason is SkipReason.TOO_LATE


# --- all-day and the shape of the output ------------------------------------------------------
def test_all_day_appointments_are_skipped() -> None:
    rules = [ReminderRule.parse(text, id=i) for i, text in enumerate(MATRIX_RULES, start=1)]
    slot = AppointmentSlot(at("2026-06-11T00:00+02:00"), "Europe/Zurich", all_day=True)
    planned = plan(slot, rules, PlanningPolicy(), now=LONG_AGO)
    assert planned == [PlannedReminder(i, None, SkipReason.ALL_DAY, None) for i in (1, 2, 3, 4)]


def test_one_entry_per_rule_in_rule_order() -> None:
    rules = [ReminderRule.parse(text, id=i) for i, text in zip((9, 3, 5), ("2h", "1d", "2h"), strict=True)]
    planned = plan(AppointmentSlot(at(APPOINTMENT), None), rules, PlanningPolicy(), now=LONG_AGO)
    assert [p.rule_id for p in planned] == [9, 3, 5]
    assert plan(AppointmentSlot(at(APPOINTMENT), None), [], PlanningPolicy(), now=LONG_AGO) == []


# --- rules: parsing, describing, validation ---------------------------------------------------
def before(amount: int, unit: OffsetUnit) -> ReminderRule:
    return ReminderRule(0, RuleKind.BEFORE, amount=amount, unit=unit)


def day_before_at(hour: int, minute: int = 0, days: int = 1) -> ReminderRule:
    return ReminderRule(0, RuleKind.DAY_BEFORE_AT, at=time(hour, minute), days_before=days)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("24h", before(24, OffsetUnit.HOURS)),
        ("2 h", before(2, OffsetUnit.HOURS)),
        (" 24H ", before(24, OffsetUnit.HOURS)),
        ("90m", before(90, OffsetUnit.MINUTES)),
        ("45 min", before(45, OffsetUnit.MINUTES)),
        ("1d", before(1, OffsetUnit.DAYS)),
        ("3 days", before(3, OffsetUnit.DAYS)),
        ("24 hours before", before(24, OffsetUnit.HOURS)),
        ("day-before@18:00", day_before_at(18)),
        ("day-before@7:30", day_before_at(7, 30)),
        ("the day before at 18:00", day_before_at(18)),
        ("same-day@07:00", day_before_at(7, days=0)),
        ("2-days-before@18:00", day_before_at(18, days=2)),
    ],
)
def test_parse(text: str, rule: ReminderRule) -> None:
    assert ReminderRule.parse(text) == rule


def test_parse_sets_the_id() -> None:
    assert ReminderRule.parse("24h", id=42).id == 42


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Cannot read reminder rule ''"),
        ("24", "write an offset such as '24h'"),
        ("h", "Cannot read"),
        ("24x", "Cannot read"),
        ("-1h", "Cannot read"),
        ("1.5h", "Cannot read"),
        ("day-before 18:00", "Cannot read"),
        ("day-before@25:00", "25:00 is not a time of day"),
        ("day-before@18:60", "18:60 is not a time of day"),
        ("0h", "at least 1 minute"),
        ("0m", "at least 1 minute"),
        ("366d", "at most 365 days"),
    ],
)
def test_parse_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ReminderRule.parse(text)


@pytest.mark.parametrize(
    ("text", "lang", "words"),
    [
        ("24h", "en", "24 hours before"),
        ("1h", "en", "1 hour before"),
        ("1d", "en", "1 day before"),
        ("2d", "en", "2 days before"),
        ("90m", "en", "90 minutes before"),
        ("1m", "en", "1 minute before"),
        ("day-before@18:00", "en", "the day before at 18:00"),
        ("same-day@07:00", "en", "the same day at 07:00"),
        ("3-days-before@18:30", "en", "3 days before at 18:30"),
        ("24h", "de", "24 Stunden vorher"),
        ("1h", "de", "1 Stunde vorher"),
        ("1d", "de", "1 Tag vorher"),
        ("90m", "de", "90 Minuten vorher"),
        ("day-before@18:00", "de", "am Vortag um 18:00"),
        ("same-day@07:00", "de-CH", "am selben Tag um 07:00"),
        ("2-days-before@18:00", "de", "2 Tage vorher um 18:00"),
        ("day-before@18:00", "fr", "la veille à 18:00"),
        ("24h", "it", "24 ore prima"),
        ("24h", "rm", "24 hours before"),
    ],
)
def test_describe(text: str, lang: str, words: str) -> None:
    assert ReminderRule.parse(text).describe(lang) == words


def test_describe_defaults_to_english() -> None:
    assert ReminderRule.parse("day-before@18:00").describe() == "the day before at 18:00"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": RuleKind.BEFORE, "amount": 0}, "at least 1 minute"),
        ({"kind": RuleKind.BEFORE, "amount": -2}, "at least 1 minute"),
        ({"kind": RuleKind.BEFORE, "amount": True}, "at least 1 minute"),
        ({"kind": RuleKind.BEFORE, "amount": 8761}, "at most 365 days"),
        ({"kind": RuleKind.BEFORE, "amount": 1, "unit": "weeks"}, "Unknown rule unit 'weeks'"),
        ({"kind": "after"}, "Unknown rule kind 'after'"),
        ({"kind": RuleKind.DAY_BEFORE_AT}, "needs the time of day"),
        ({"kind": RuleKind.DAY_BEFORE_AT, "at": time(18, tzinfo=UTC)}, "without a zone"),
        ({"kind": RuleKind.DAY_BEFORE_AT, "at": time(18, 0, 30)}, "whole minutes"),
        ({"kind": RuleKind.DAY_BEFORE_AT, "at": time(18), "days_before": -1}, "between 0 and 365"),
    ],
)
def test_rule_validation(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ReminderRule(id=1, **fields)  # type: ignore[arg-type]


def test_rule_accepts_database_strings_and_drops_fields_of_the_other_kind() -> None:
    from_row = ReminderRule(1, "before", amount=2, unit="hours", at=time(18), days_before=3)  # type: ignore[arg-type]
    assert from_row == ReminderRule(1, RuleKind.BEFORE, amount=2, unit=OffsetUnit.HOURS)
    assert from_row.kind is RuleKind.BEFORE
    assert from_row.offset == timedelta(hours=2)
    other = ReminderRule(1, "day_before_at", amount=5, unit="days", at=time(18))  # type: ignore[arg-type]
    assert other == ReminderRule(1, RuleKind.DAY_BEFORE_AT, at=time(18))


# --- inputs planning refuses -----------------------------------------------------------------
def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="starts_at must be timezone-aware"):
        AppointmentSlot(datetime(2026, 6, 11, 10), "Europe/Zurich")  # noqa: DTZ001


def test_naive_now_is_refused() -> None:
    slot = AppointmentSlot(at(APPOINTMENT), None)
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        plan(slot, [], PlanningPolicy(), now=datetime(2026, 6, 11))  # noqa: DTZ001


@pytest.mark.parametrize("zone", ["W. Europe Standard Time", "Mars/Olympus", "", "../etc/passwd"])
def test_unknown_zones_are_refused(zone: str) -> None:
    with pytest.raises(ValueError, match="Unknown time zone"):
        AppointmentSlot(at(APPOINTMENT), zone)
    with pytest.raises(ValueError, match="Unknown time zone"):
        PlanningPolicy(account_timezone=zone)


def test_negative_late_send_lead_is_refused() -> None:
    with pytest.raises(ValueError, match="late_send_min_lead"):
        PlanningPolicy(late_send_min_lead=timedelta(minutes=-1))


def test_quiet_hours_with_a_zone_are_refused() -> None:
    with pytest.raises(ValueError, match="without a zone"):
        QuietHours(time(21, tzinfo=UTC), time(8))


def test_several_passed_rules_give_one_late_send_not_several() -> None:
    rules = [ReminderRule.parse(text, id=i) for i, text in enumerate(["2d", "24h", "3h"])]
    now = at("2026-06-11T08:30+02:00")  # all three have passed (3h moved out of the night)
    planned = plan(
        AppointmentSlot(at(APPOINTMENT), "Europe/Zurich"),
        rules,
        PlanningPolicy(allow_late_send=True),
        now=now,
    )
    assert [p.skip_reason for p in planned] == [SkipReason.TOO_LATE, SkipReason.TOO_LATE, None]
    assert planned[2].late_send
    assert planned[2].due_at == now
