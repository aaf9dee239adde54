"""Words for reminder states, reasons and recipient findings, as msgids the pages translate.

The domain stores short codes (`skipped` / `no_credit`, `landline`, `location`); the appointment
pages, the message log and its downloads show the same sentence for the same code, so they live
in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reminders.reasons import CancelReason, FailReason, NoRecipientReason, ReminderState, SkipReason
from reminders.web.i18n import N_

STATES: Mapping[str, str] = {
    ReminderState.SCHEDULED: N_("Scheduled"),
    ReminderState.QUEUED: N_("Queued"),
    ReminderState.SENDING: N_("Sending"),
    ReminderState.SENT: N_("Sent"),
    ReminderState.DELIVERED: N_("Delivered"),
    ReminderState.NOT_DELIVERED: N_("Not delivered"),
    ReminderState.SKIPPED: N_("Skipped"),
    ReminderState.CANCELLED: N_("Cancelled"),
    ReminderState.FAILED: N_("Failed"),
    # A send attempt whose result the gateway never told us (see the message log).
    "unknown": N_("Outcome unknown"),
}

# Skip and cancel codes share "appointment_cancelled"; one sentence fits both.
REASONS: Mapping[str, str] = {
    SkipReason.TOO_LATE: N_(
        "The appointment was saved or moved so late that its reminder time had already passed."
    ),
    SkipReason.BEFORE_CONNECTED: N_(
        "This reminder's time had already passed when the calendar was connected; nothing went wrong."
    ),
    SkipReason.QUIET_HOURS: N_("Quiet hours moved this reminder earlier, to a time that had already passed."),
    SkipReason.ALL_DAY: N_("All-day events get no reminders."),
    SkipReason.CALENDAR_DISABLED: N_("Reminders are switched off for this calendar."),
    SkipReason.APPOINTMENT_CANCELLED: N_("The appointment was cancelled in the calendar."),
    SkipReason.APPOINTMENT_STARTED: N_("The appointment had already started when the reminder was due."),
    SkipReason.NO_RECIPIENT: N_("The appointment has no mobile number."),
    SkipReason.NO_CREDIT: N_("There was not enough SMS credit."),
    SkipReason.RECIPIENT_BLOCKED: N_("The number is on your blacklist: its owner asked not to get SMS."),
    SkipReason.RECIPIENT_INVALID: N_(
        "The number is on your list of invalid numbers: it was found not to be in use."
    ),
    CancelReason.APPOINTMENT_DELETED: N_("The appointment was deleted from the calendar."),
    CancelReason.APPOINTMENT_MOVED: N_(
        "The appointment was moved; a new reminder is planned for its new time."
    ),
    CancelReason.RULE_REMOVED: N_("The reminder rule was removed from the calendar's settings."),
    CancelReason.CALENDAR_DISCONNECTED: N_("The calendar was disconnected."),
    FailReason.GATEWAY_REJECTED: N_("The SMS provider refused the message."),
    FailReason.GATEWAY_UNAVAILABLE: N_("The SMS provider could not be reached, also on the last attempt."),
    FailReason.OUTCOME_UNKNOWN: N_(
        "It is unknown whether the SMS provider accepted the message; it was not sent again, "
        "so the client never gets it twice."
    ),
    FailReason.RENDER_FAILED: N_("The reminder text could not be built from the template."),
}

# Where the number was found (Appointment.recipient_source).
SOURCES: Mapping[str, str] = {
    "location": N_("Location"),
    "title": N_("Title"),
    "description": N_("Description"),
}

# Why an appointment has no sendable number, and what the business can do about it.
RECIPIENT_PROBLEMS: Mapping[str, tuple[str, str]] = {
    NoRecipientReason.NO_NUMBER: (
        N_("No mobile number in the location, title or description."),
        N_("Write the client's mobile number into the appointment's location, title or description."),
    ),
    NoRecipientReason.LANDLINE: (
        N_("The number is a landline or a service number; it cannot receive SMS."),
        N_("Replace it with the client's mobile number."),
    ),
    NoRecipientReason.INVALID: (
        N_("The number is not a valid phone number."),
        N_("Check the digits. A number from abroad needs its country code, e.g. +33 for France."),
    ),
    NoRecipientReason.NOT_IN_ENABLED_FIELDS: (
        N_("The number is in a field this calendar does not read."),
        N_("Turn that field on in the calendar's settings, or move the number to a field it reads."),
    ),
}

APPOINTMENT_STATUSES: Mapping[str, str] = {
    "confirmed": N_("Confirmed"),
    "cancelled": N_("Cancelled in the calendar"),
    "removed": N_("Deleted from the calendar"),
}

ENCODINGS: Mapping[str, str] = {"gsm7": "GSM-7", "ucs2": "UCS-2"}

# SendAttempt.outcome → the state word shown for that hand-over.
_ATTEMPT_STATES: Mapping[str, str] = {
    "sent": "sent",
    "failed": "failed",
    "pending": "sending",
    "unknown": "unknown",
}


def state_text(state: str) -> str:
    """The msgid for a reminder or log state (the code itself when unknown)."""
    return STATES.get(state, state)


def reason_text(reason: str | None, fallback: str | None = None) -> str | None:
    """The msgid of the sentence for a skip, cancel or fail reason (None for none); an unknown
    code gives `fallback`, else the code itself."""
    if not reason:
        return None
    return REASONS.get(reason, fallback or reason)


@dataclass(frozen=True, slots=True)
class Badge:
    """A reminder's state as the pages show it: `code` names the CSS class (`state-<code>`),
    `label` is a msgid."""

    code: str
    label: str


# Still to be sent; "blocked" when it cannot go out as things stand.
PLANNED_STATES = frozenset({ReminderState.SCHEDULED, ReminderState.QUEUED})


def badge(state: str, reason: str | None, *, blocked: bool = False) -> Badge:
    """The badge of a reminder; `blocked` says a planned one cannot go out (no mobile number, or the
    number is on one of the account's lists), so it is not shown as "Scheduled".

    A reminder whose time had passed before the calendar was connected was never possible: it is
    shown in grey, not as a skipped message; one that quiet hours moved to a time already passed
    is named by that cause."""
    if blocked and state in PLANNED_STATES:
        return Badge("blocked", N_("Blocked"))
    if state == ReminderState.SKIPPED and reason == SkipReason.BEFORE_CONNECTED:
        return Badge("muted", N_("Connected after this reminder's time"))
    if state == ReminderState.SKIPPED and reason == SkipReason.QUIET_HOURS:
        return Badge(state, N_("Quiet hours"))  # the cause, not a bare "Skipped"
    return Badge(state, state_text(state))


def attempt_state(outcome: str) -> str:
    """The state code of a send attempt's outcome (pending is shown as "sending")."""
    return _ATTEMPT_STATES.get(outcome, outcome)


def recipient_problem(reason: str | None) -> tuple[str, str]:
    """The msgids saying why an appointment has no number and how to fix it."""
    return RECIPIENT_PROBLEMS.get(reason or "", RECIPIENT_PROBLEMS[NoRecipientReason.NO_NUMBER])


def encoding_label(encoding: str | None) -> str:
    """GSM-7 or UCS-2 as people write them ("–" when there is no text)."""
    if not encoding:
        return "–"
    return ENCODINGS.get(encoding, encoding)
