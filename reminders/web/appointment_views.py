"""What the appointment pages show of a reminder: its state, reason, final text and cost.

A reminder that has gone out (or was prepared for sending) shows the text stored at that time;
one still planned shows the text rendered now, exactly as the dispatcher would render it, and the
gates it would fail now. Numbers and digit runs in free text are masked for the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from reminders.appointments.text import html_to_text
from reminders.dispatch.gates import GateInput, all_failures
from reminders.dispatch.render import RenderedMessage, render_reminder
from reminders.models import Account, Appointment, CalendarConnection, Reminder, SendAttempt
from reminders.reasons import ReminderState, SkipReason
from reminders.reports.masking import mask_digits, mask_number
from reminders.web.i18n import N_
from reminders.web.reminder_texts import (
    PLANNED_STATES,
    Badge,
    attempt_state,
    badge,
    encoding_label,
    reason_text,
    recipient_problem,
    state_text,
)

# Handed over and not refunded: the reminder's text went out and its credit was used.
_WENT_OUT = frozenset(
    {ReminderState.SENDING, ReminderState.SENT, ReminderState.DELIVERED, ReminderState.NOT_DELIVERED}
)
_FIELD_PREVIEW = 500


@dataclass(frozen=True, slots=True)
class AttemptView:
    """One hand-over to the gateway, as the detail page lists it."""

    number: int
    started_at: datetime
    finished_at: datetime | None
    state: str  # msgid
    state_code: str
    recipient: str  # masked
    sender: str
    error: str | None


@dataclass(frozen=True, slots=True)
class ReminderView:
    """One reminder with its final text and what it costs (1 credit per segment)."""

    reminder: Reminder
    badge: Badge
    reason: str | None  # msgid
    text_label: str  # msgid
    text: str | None
    encoding: str
    segments: int | None
    cost: int
    cost_kind: str  # "planned" (would cost), "charged" or "free"
    render_error: str | None = None
    warnings: list[str] = field(default_factory=list)  # msgids: gates that would fail now
    attempts: list[AttemptView] = field(default_factory=list)


def cannot_send(appointment: Appointment, blocked: str | None) -> str | None:
    """The msgid saying why no reminder of the appointment can go out as things stand (no mobile
    number, or the number on the account's list `blocked` names), None when one can.

    The list, the detail page and the overview word a blocked reminder with this one sentence."""
    if appointment.recipient is None:
        return recipient_problem(appointment.recipient_reason)[0]
    if blocked == "invalid":
        return reason_text(SkipReason.RECIPIENT_INVALID)
    if blocked is not None:
        return reason_text(SkipReason.RECIPIENT_BLOCKED)
    return None


def reminder_badge(reminder: Reminder, appointment: Appointment, blocked: str | None = None) -> Badge:
    """The reminder's badge: "Blocked" for a planned one that `cannot_send` stops."""
    return badge(reminder.state, reminder.reason, blocked=cannot_send(appointment, blocked) is not None)


def masked_field(text: str) -> str:
    """A calendar field as the page shows it: plain text, shortened, long digit runs masked."""
    plain = html_to_text(text or "")
    if len(plain) > _FIELD_PREVIEW:
        plain = plain[:_FIELD_PREVIEW].rstrip() + " …"
    return mask_digits(plain)


def reminder_view(
    reminder: Reminder,
    attempts: list[SendAttempt],
    *,
    appointment: Appointment,
    account: Account,
    calendar: CalendarConnection,
    templates: Mapping[str, str],
    now: datetime,
    blocked: str | None = None,
) -> ReminderView:
    """The detail page's view of one reminder; `blocked` names the account's list the number is on."""
    attempt_views = [_attempt_view(a) for a in attempts]
    # Still to be sent: the text is rendered from today's template and appointment.
    if reminder.state in PLANNED_STATES:
        context = _Context(appointment, account, calendar, templates, now, blocked)
        return _planned_view(reminder, attempt_views, context)
    segments = reminder.segments
    if reminder.state in _WENT_OUT or any(a.outcome == "sent" for a in attempts):
        label, cost_kind, cost = N_("Text sent"), "charged", segments or 0
    elif reminder.body is not None:
        label, cost_kind, cost = N_("Text prepared, not sent"), "free", 0
    else:
        label, cost_kind, cost = N_("No text: this reminder was never prepared."), "free", 0
    return ReminderView(
        reminder=reminder,
        badge=reminder_badge(reminder, appointment, blocked),
        reason=reason_text(reminder.reason),
        text_label=label,
        text=reminder.body,
        encoding=encoding_label(reminder.encoding),
        segments=segments,
        cost=cost,
        cost_kind=cost_kind,
        attempts=attempt_views,
    )


@dataclass(frozen=True, slots=True)
class _Context:
    appointment: Appointment
    account: Account
    calendar: CalendarConnection
    templates: Mapping[str, str]
    now: datetime
    blocked: str | None


def _planned_view(reminder: Reminder, attempts: list[AttemptView], ctx: _Context) -> ReminderView:
    message: RenderedMessage | None = None
    render_error: str | None = None
    try:
        message = render_reminder(ctx.appointment, ctx.account, ctx.calendar, ctx.templates)
    except Exception as exc:  # a broken template must not break the page that helps to find it
        render_error = str(exc)
    if message is None:
        warnings = [N_("The reminder text could not be built from the template.")]
    else:
        warnings = _gate_warnings(reminder, message, ctx)
    return ReminderView(
        reminder=reminder,
        badge=reminder_badge(reminder, ctx.appointment, ctx.blocked),
        reason=reason_text(reminder.reason),
        text_label=N_("Text as it would be sent (rendered now)"),
        text=message.body if message else None,
        encoding=encoding_label(message.encoding if message else None),
        segments=message.segments if message else None,
        cost=message.segments if message else 0,
        cost_kind="planned" if message else "free",
        render_error=render_error,
        warnings=warnings,
        attempts=attempts,
    )


def _gate_warnings(reminder: Reminder, message: RenderedMessage, ctx: _Context) -> list[str]:
    """The dispatcher's own gates, run as of the reminder's due time with today's data."""
    due = reminder.due_at if reminder.due_at is not None and reminder.due_at > ctx.now else ctx.now
    a = ctx.appointment
    failures = all_failures(
        GateInput(
            now=due,
            calendar_name=ctx.calendar.name,
            calendar_enabled=ctx.calendar.enabled,
            appointment_status=a.status,
            starts_at=a.starts_at,
            recipient=a.recipient,
            recipient_reason=a.recipient_reason,
            credit_balance=ctx.account.credit_balance,
            segments=message.segments,
            blocked=ctx.blocked,
        )
    )
    return [reason_text(failure.reason, failure.detail) or failure.detail for failure in failures]


def _attempt_view(attempt: SendAttempt) -> AttemptView:
    code = attempt_state(attempt.outcome)
    return AttemptView(
        number=attempt.number,
        started_at=attempt.started_at,
        finished_at=attempt.finished_at,
        state=state_text(code),
        state_code=code,
        recipient=mask_number(attempt.recipient),
        sender=attempt.sender,
        error=attempt.error,
    )
