"""The checks a reminder must pass at its due time, in the order the dispatcher runs them.

Pure functions of a `GateInput`. The dispatcher runs them before every send, and the
troubleshooting page runs the very same functions to explain what happened or will happen,
so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from reminders.msgid import N_
from reminders.reasons import SkipReason


@dataclass(frozen=True, slots=True)
class GateInput:
    """Everything the gates look at, read in the dispatch transaction."""

    now: datetime
    calendar_name: str
    calendar_enabled: bool
    appointment_status: str
    starts_at: datetime
    recipient: str | None
    recipient_reason: str | None
    credit_balance: int
    segments: int
    # The account's list the recipient is on ("blacklist" or "invalid"), None when not blocked.
    blocked: str | None = None


@dataclass(frozen=True, slots=True)
class GateFailure:
    """A gate that said no: the reason code and a sentence for the owner."""

    reason: SkipReason
    detail: str


Gate = Callable[[GateInput], GateFailure | None]

_RECIPIENT_DETAILS = {
    "not_in_enabled_fields": (
        "The number is in a field this calendar does not read; enable that field or move the number."
    ),
    "landline": "The number in the appointment is a landline or a service number; they cannot receive SMS.",
    "invalid": "The number in the appointment is not a valid phone number.",
    "no_number": "No mobile number was found in the appointment's location, title or description.",
}


def calendar_enabled(ctx: GateInput) -> GateFailure | None:
    """Reminders must be switched on for the calendar."""
    if ctx.calendar_enabled:
        return None
    return GateFailure(
        SkipReason.CALENDAR_DISABLED, f"Reminders are switched off for the calendar {ctx.calendar_name!r}."
    )


def appointment_active(ctx: GateInput) -> GateFailure | None:
    """The appointment must still exist and not be cancelled."""
    if ctx.appointment_status == "confirmed":
        return None
    return GateFailure(
        SkipReason.APPOINTMENT_CANCELLED, "The appointment was cancelled or deleted in the calendar."
    )


def appointment_ahead(ctx: GateInput) -> GateFailure | None:
    """A reminder after the start is useless (after downtime, late ones still go if the start is ahead)."""
    if ctx.starts_at > ctx.now:
        return None
    return GateFailure(
        SkipReason.APPOINTMENT_STARTED, "The appointment had already started when the reminder was due."
    )


def recipient_sendable(ctx: GateInput) -> GateFailure | None:
    """The appointment must carry a mobile number."""
    if ctx.recipient:
        return None
    detail = _RECIPIENT_DETAILS.get(ctx.recipient_reason or "no_number", _RECIPIENT_DETAILS["no_number"])
    return GateFailure(SkipReason.NO_RECIPIENT, detail)


def recipient_not_blocked(ctx: GateInput) -> GateFailure | None:
    """The number must be on neither of the account's lists (opted out, or found unassigned)."""
    if ctx.blocked is None:
        return None
    if ctx.blocked == "invalid":
        return GateFailure(
            SkipReason.RECIPIENT_INVALID,
            N_(
                "The number is on your list of invalid numbers: it was found not to be in use. "
                "Remove it from that list if it works again."
            ),
        )
    return GateFailure(
        SkipReason.RECIPIENT_BLOCKED,
        N_(
            "The number is on your blacklist: its owner asked not to get SMS. "
            "Remove it from the blacklist only if they agree to get reminders again."
        ),
    )


def credit_sufficient(ctx: GateInput) -> GateFailure | None:
    """The account's prepaid credit must cover every segment of the message."""
    if ctx.credit_balance >= ctx.segments:
        return None
    return GateFailure(
        SkipReason.NO_CREDIT,
        f"The message needs {ctx.segments} SMS of credit but only {ctx.credit_balance} are left; "
        "buy more credit.",
    )


GATES: Sequence[Gate] = (
    calendar_enabled,
    appointment_active,
    appointment_ahead,
    recipient_sendable,
    recipient_not_blocked,
    credit_sufficient,
)


def first_failure(ctx: GateInput) -> GateFailure | None:
    """The first gate that fails, as the dispatcher sees it; None when the reminder may go."""
    for gate in GATES:
        failure = gate(ctx)
        if failure is not None:
            return failure
    return None


def all_failures(ctx: GateInput) -> list[GateFailure]:
    """Every gate that fails, for a complete explanation."""
    return [failure for gate in GATES if (failure := gate(ctx)) is not None]
