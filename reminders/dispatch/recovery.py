"""Lease recovery: settle reminders a worker claimed and then stopped working on (it died)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from connectors.sms.base import OutcomeUnknown, SmsGateway
from reminders.billing import credit
from reminders.dispatch import repository
from reminders.dispatch.transitions import finish, requeue, settle_sent
from reminders.models import Reminder
from reminders.reasons import FailReason, ReminderState

log = logging.getLogger(__name__)


def recover_expired(session: Session, gateway: SmsGateway, *, now: datetime) -> int:
    """Settle every reminder whose lease expired; returns how many."""
    settled = 0
    for reminder in repository.expired_leases(session, now=now):
        if reminder.state == ReminderState.QUEUED:
            requeue(reminder, now)  # nothing was debited or sent yet
        else:
            _settle_sending(session, gateway, reminder, now)
        settled += 1
    return settled


def _settle_sending(session: Session, gateway: SmsGateway, reminder: Reminder, now: datetime) -> None:
    attempt = repository.latest_attempt(session, reminder.id)
    if attempt is None:
        requeue(reminder, now)
        return
    try:
        found = gateway.lookup(attempt.idempotency_key)
    except OutcomeUnknown as exc:
        # Sending again could text the client twice; say so instead of guessing.
        attempt.outcome, attempt.error, attempt.finished_at = "unknown", str(exc), now
        finish(reminder, ReminderState.FAILED, FailReason.OUTCOME_UNKNOWN, now)
        log.warning("dispatch.recovery.unknown reminder=%s", reminder.id)
        return
    if found is not None:
        settle_sent(reminder, attempt, found, now=now)
        return
    attempt.outcome, attempt.error, attempt.finished_at = "failed", "the gateway never received it", now
    credit.refund(
        session, attempt.account_id, attempt.segments, reminder_id=reminder.id, now=now, note="not sent"
    )
    requeue(reminder, now)
