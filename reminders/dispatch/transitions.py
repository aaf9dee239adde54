"""State changes of a reminder row the caller has locked (SELECT … FOR UPDATE or SQLite's write lock)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm.attributes import flag_modified

from connectors.sms.base import SentSms
from reminders.models import Reminder, SendAttempt
from reminders.reasons import ReminderState


def touch(reminder: Reminder, now: datetime) -> None:
    """Stamp the change with the dispatcher's clock.

    The claim already wrote the same `updated_at`; without flagging it, SQLAlchemy would see no
    change and let the column's `onupdate` write the wall clock instead.
    """
    reminder.updated_at = now
    flag_modified(reminder, "updated_at")


def settle_sent(reminder: Reminder, attempt: SendAttempt, sent: SentSms, *, now: datetime) -> None:
    """The gateway accepted the message."""
    attempt.outcome, attempt.provider_message_id, attempt.finished_at = "sent", sent.provider_message_id, now
    reminder.state, reminder.sent_at = ReminderState.SENT, now
    touch(reminder, now)
    release(reminder)


def finish(reminder: Reminder, state: ReminderState, reason: str, now: datetime) -> None:
    """End the reminder in a final state with its reason."""
    reminder.state, reminder.reason = state, reason
    touch(reminder, now)
    release(reminder)


def requeue(reminder: Reminder, now: datetime, *, due_at: datetime | None = None) -> None:
    """Put the reminder back in the queue (at `due_at` when given)."""
    reminder.state = ReminderState.SCHEDULED
    touch(reminder, now)
    if due_at is not None:
        reminder.due_at = due_at
    release(reminder)


def release(reminder: Reminder) -> None:
    """Drop the worker's lease."""
    reminder.lease_owner = None
    reminder.lease_until = None
