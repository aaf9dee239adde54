"""Reminder states and the reasons a reminder is skipped, cancelled or failed.

One enum for the planner, the dispatcher's gates and the troubleshooting page, so all three
speak the same words.
"""

from __future__ import annotations

from enum import StrEnum


class ReminderState(StrEnum):
    """Where a reminder stands (see architecture.md, "Reminder state machine")."""

    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    NOT_DELIVERED = "not_delivered"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    FAILED = "failed"


class NoRecipientReason(StrEnum):
    """Why an appointment has no sendable number, most useful first."""

    NOT_IN_ENABLED_FIELDS = "not_in_enabled_fields"
    LANDLINE = "landline"
    INVALID = "invalid"
    NO_NUMBER = "no_number"


class SkipReason(StrEnum):
    """Why a reminder was not sent (planning time or due time)."""

    TOO_LATE = "too_late"  # saved or moved after its time had passed
    # Its time had passed before the calendar was connected: never possible, not a failure.
    BEFORE_CONNECTED = "before_connected"
    # Moved earlier out of quiet hours, and that earlier time had passed.
    QUIET_HOURS = "quiet_hours"
    ALL_DAY = "all_day"
    CALENDAR_DISABLED = "calendar_disabled"
    APPOINTMENT_CANCELLED = "appointment_cancelled"
    APPOINTMENT_STARTED = "appointment_started"
    NO_RECIPIENT = "no_recipient"
    RECIPIENT_BLOCKED = "recipient_blocked"  # on the account's blacklist (opted out)
    RECIPIENT_INVALID = "recipient_invalid"  # on the account's invalid numbers (unassigned)
    NO_CREDIT = "no_credit"


# Decided when planning, from times alone: a settings change may turn them into a send.
PLANNING_SKIPS: frozenset[str] = frozenset(
    {SkipReason.TOO_LATE, SkipReason.BEFORE_CONNECTED, SkipReason.QUIET_HOURS, SkipReason.ALL_DAY}
)


class CancelReason(StrEnum):
    """Why a planned reminder was withdrawn before its time."""

    APPOINTMENT_DELETED = "appointment_deleted"
    APPOINTMENT_CANCELLED = "appointment_cancelled"
    APPOINTMENT_MOVED = "appointment_moved"
    RULE_REMOVED = "rule_removed"
    CALENDAR_DISCONNECTED = "calendar_disconnected"


class FailReason(StrEnum):
    """Why a send attempt did not succeed."""

    GATEWAY_REJECTED = "gateway_rejected"
    GATEWAY_UNAVAILABLE = "gateway_unavailable"
    OUTCOME_UNKNOWN = "outcome_unknown"
    RENDER_FAILED = "render_failed"
