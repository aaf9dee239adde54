"""Send due reminders exactly once: claim, gate, debit, send, record.

Each reminder walks `queued → sending → sent` through conditional UPDATEs. The gateway is
called outside any transaction, after the send attempt row and the credit debit are
committed, so a crash at any point leaves a row that lease recovery can settle without ever
sending twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session, sessionmaker

from connectors.sms.base import OutcomeUnknown, OutgoingSms, SendError, SentSms, SmsGateway
from reminders.billing import credit
from reminders.dispatch import repository
from reminders.dispatch.gates import GateInput, first_failure
from reminders.dispatch.render import RenderedMessage, render_reminder
from reminders.models import Account, Appointment, CalendarConnection, MessageTemplate, Reminder, SendAttempt
from reminders.reasons import FailReason, ReminderState, SkipReason

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class Outcome(StrEnum):
    """What processing one claimed reminder ended in."""

    SENT = "sent"
    SKIPPED = "skipped"
    RETRY = "retry"
    FAILED = "failed"
    LOST = "lost"  # the lease was taken over; another worker owns the row now


@dataclass(frozen=True, slots=True)
class DispatchPolicy:
    """How the dispatcher leases, retries and batches."""

    lease: timedelta = timedelta(minutes=2)
    max_attempts: int = 3
    retry_after: timedelta = timedelta(minutes=1)
    batch_size: int = 200


class _LeaseLost(Exception):
    """Another worker took the reminder over while this one was preparing it."""


@dataclass(frozen=True, slots=True)
class _Prepared:
    attempt_id: int
    account_id: int
    sms: OutgoingSms


class Dispatcher:
    """Claims due reminders and sends them through one gateway."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        gateway: SmsGateway,
        *,
        owner: str,
        clock: Clock,
        policy: DispatchPolicy | None = None,
    ) -> None:
        self._factory = factory
        self._gateway = gateway
        self._owner = owner
        self._clock = clock
        self._policy = policy or DispatchPolicy()

    def claim(self) -> list[int]:
        """Claim the next batch of due reminders for this worker."""
        with self._factory.begin() as session:
            return repository.claim_due(
                session,
                now=self._clock(),
                owner=self._owner,
                lease=self._policy.lease,
                limit=self._policy.batch_size,
            )

    def run_once(self, executor: Executor | None = None) -> dict[Outcome, int]:
        """Claim one batch and process it (in `executor` when given); returns outcome counts."""
        ids = self.claim()
        results = list(executor.map(self.process, ids)) if executor else [self.process(i) for i in ids]
        counts: dict[Outcome, int] = {}
        for outcome in results:
            counts[outcome] = counts.get(outcome, 0) + 1
        return counts

    def earliest_due(self) -> datetime | None:
        """When the next scheduled reminder falls due."""
        with self._factory.begin() as session:
            return repository.earliest_due(session)

    def process(self, reminder_id: int) -> Outcome:
        """Gate, debit, send and record one claimed reminder. Never raises."""
        try:
            prepared = self._prepare(reminder_id)
            if not isinstance(prepared, _Prepared):
                return prepared
            try:
                sent = self._gateway.send(prepared.sms)
            except SendError as exc:
                return self._record_failure(reminder_id, prepared, str(exc), permanent=exc.permanent)
            except Exception as exc:  # an adapter bug or a network error the adapter did not sort
                log.exception("sms.send.crashed reminder=%s", reminder_id)
                return self._record_failure(
                    reminder_id, prepared, f"{type(exc).__name__}: {exc}", permanent=False
                )
            return self._record_sent(reminder_id, prepared.attempt_id, sent)
        except Exception:
            # Whatever happened, the lease expires and recovery settles the row.
            log.exception("dispatch.process.crashed reminder=%s", reminder_id)
            return Outcome.FAILED

    def _prepare(self, reminder_id: int) -> _Prepared | Outcome:
        try:
            return self._prepare_in_transaction(reminder_id)
        except _LeaseLost:
            return Outcome.LOST

    def _prepare_in_transaction(self, reminder_id: int) -> _Prepared | Outcome:
        now = self._clock()
        with self._factory.begin() as session:
            reminder = session.get(Reminder, reminder_id)
            if (
                reminder is None
                or reminder.state != ReminderState.QUEUED
                or reminder.lease_owner != self._owner
            ):
                return Outcome.LOST
            appointment = session.get_one(Appointment, reminder.appointment_id)
            connection = session.get_one(CalendarConnection, appointment.calendar_id)
            account = session.get_one(Account, connection.account_id)
            template = (
                session.get(MessageTemplate, connection.template_id) if connection.template_id else None
            )
            message = render_reminder(appointment, account, connection, template.body if template else None)
            failure = first_failure(_gate_input(now, connection, appointment, account, message))
            if failure is not None:
                return self._skip(session, reminder_id, failure.reason, message, now)
            if not credit.try_debit(session, account.id, message.segments, reminder_id=reminder_id, now=now):
                return self._skip(session, reminder_id, SkipReason.NO_CREDIT, message, now)
            number = reminder.attempts + 1
            sms = OutgoingSms(
                to=appointment.recipient or "",
                sender=connection.sender_name or account.sender_name,
                body=message.body,
                idempotency_key=f"reminder-{reminder_id}-{number}",
                segments=message.segments,
            )
            attempt = SendAttempt(
                reminder_id=reminder_id,
                account_id=account.id,
                number=number,
                idempotency_key=sms.idempotency_key,
                gateway=self._gateway.name,
                recipient=sms.to,
                sender=sms.sender,
                body=sms.body,
                encoding=message.encoding,
                segments=message.segments,
                started_at=now,
            )
            session.add(attempt)
            moved = repository.transition(
                session,
                reminder_id,
                expect=ReminderState.QUEUED,
                owner=self._owner,
                state=ReminderState.SENDING,
                attempts=number,
                body=message.body,
                encoding=message.encoding,
                segments=message.segments,
                lease_until=now + self._policy.lease,
                updated_at=now,
            )
            if not moved:
                raise _LeaseLost  # undoes the debit and the attempt row with the transaction
            session.flush()
            return _Prepared(attempt_id=attempt.id, account_id=account.id, sms=sms)

    def _skip(
        self, session: Session, reminder_id: int, reason: SkipReason, message: RenderedMessage, now: datetime
    ) -> Outcome:
        moved = repository.transition(
            session,
            reminder_id,
            expect=ReminderState.QUEUED,
            owner=self._owner,
            state=ReminderState.SKIPPED,
            reason=reason,
            body=message.body,
            encoding=message.encoding,
            segments=message.segments,
            lease_owner=None,
            lease_until=None,
            updated_at=now,
        )
        log.info("reminder.skipped reminder=%s reason=%s", reminder_id, reason)
        return Outcome.SKIPPED if moved else Outcome.LOST

    def _record_sent(self, reminder_id: int, attempt_id: int, sent: SentSms) -> Outcome:
        now = self._clock()
        with self._factory.begin() as session:
            settle_sent(session, reminder_id, attempt_id, sent, now=now)
        return Outcome.SENT

    def _record_failure(
        self, reminder_id: int, prepared: _Prepared, error: str, *, permanent: bool
    ) -> Outcome:
        now = self._clock()
        with self._factory.begin() as session:
            attempt = session.get_one(SendAttempt, prepared.attempt_id)
            attempt.outcome, attempt.error, attempt.finished_at = "failed", error[:2000], now
            credit.refund(
                session,
                prepared.account_id,
                prepared.sms.segments,
                reminder_id=reminder_id,
                now=now,
                note="not sent",
            )
            reminder = session.get_one(Reminder, reminder_id)
            appointment = session.get_one(Appointment, reminder.appointment_id)
            retry_at = now + self._policy.retry_after * reminder.attempts
            if (
                not permanent
                and reminder.attempts < self._policy.max_attempts
                and retry_at < appointment.starts_at
            ):
                repository.transition(
                    session,
                    reminder_id,
                    expect=ReminderState.SENDING,
                    owner=None,
                    state=ReminderState.SCHEDULED,
                    due_at=retry_at,
                    lease_owner=None,
                    lease_until=None,
                    updated_at=now,
                )
                log.warning("sms.send.retry reminder=%s error=%s", reminder_id, error)
                return Outcome.RETRY
            reason = FailReason.GATEWAY_REJECTED if permanent else FailReason.GATEWAY_UNAVAILABLE
            repository.transition(
                session,
                reminder_id,
                expect=ReminderState.SENDING,
                owner=None,
                state=ReminderState.FAILED,
                reason=reason,
                lease_owner=None,
                lease_until=None,
                updated_at=now,
            )
            log.warning("sms.send.failed reminder=%s error=%s", reminder_id, error)
            return Outcome.FAILED

    def recover_leases(self) -> int:
        """Settle reminders whose worker died mid-way; returns how many were settled."""
        now = self._clock()
        settled = 0
        with self._factory.begin() as session:
            for reminder in repository.expired_leases(session, now=now):
                if reminder.state == ReminderState.QUEUED:
                    # Nothing was sent and nothing debited yet: simply put it back in the queue.
                    settled += repository.transition(
                        session,
                        reminder.id,
                        expect=ReminderState.QUEUED,
                        owner=reminder.lease_owner,
                        state=ReminderState.SCHEDULED,
                        lease_owner=None,
                        lease_until=None,
                        updated_at=now,
                    )
                else:
                    settled += self._settle_sending(session, reminder, now)
        return settled

    def _settle_sending(self, session: Session, reminder: Reminder, now: datetime) -> bool:
        attempt = repository.latest_attempt(session, reminder.id)
        if attempt is None:
            return repository.transition(
                session,
                reminder.id,
                expect=ReminderState.SENDING,
                owner=None,
                state=ReminderState.SCHEDULED,
                lease_owner=None,
                lease_until=None,
                updated_at=now,
            )
        try:
            found = self._gateway.lookup(attempt.idempotency_key)
        except OutcomeUnknown as exc:
            # Re-sending could text the client twice; say so instead of guessing.
            attempt.outcome, attempt.error, attempt.finished_at = "unknown", str(exc), now
            return repository.transition(
                session,
                reminder.id,
                expect=ReminderState.SENDING,
                owner=None,
                state=ReminderState.FAILED,
                reason=FailReason.OUTCOME_UNKNOWN,
                lease_owner=None,
                lease_until=None,
                updated_at=now,
            )
        if found is not None:
            settle_sent(session, reminder.id, attempt.id, found, now=now)
            return True
        attempt.outcome, attempt.error, attempt.finished_at = "failed", "the gateway never received it", now
        credit.refund(
            session, attempt.account_id, attempt.segments, reminder_id=reminder.id, now=now, note="not sent"
        )
        return repository.transition(
            session,
            reminder.id,
            expect=ReminderState.SENDING,
            owner=None,
            state=ReminderState.SCHEDULED,
            lease_owner=None,
            lease_until=None,
            updated_at=now,
        )


def settle_sent(session: Session, reminder_id: int, attempt_id: int, sent: SentSms, *, now: datetime) -> None:
    """Record that the gateway accepted the message."""
    attempt = session.get_one(SendAttempt, attempt_id)
    attempt.outcome, attempt.provider_message_id, attempt.finished_at = "sent", sent.provider_message_id, now
    repository.transition(
        session,
        reminder_id,
        expect=ReminderState.SENDING,
        owner=None,
        state=ReminderState.SENT,
        sent_at=now,
        lease_owner=None,
        lease_until=None,
        updated_at=now,
    )


def _gate_input(
    now: datetime,
    connection: CalendarConnection,
    appointment: Appointment,
    account: Account,
    message: RenderedMessage,
) -> GateInput:
    return GateInput(
        now=now,
        calendar_name=connection.name,
        calendar_enabled=connection.enabled,
        appointment_status=appointment.status,
        starts_at=appointment.starts_at,
        recipient=appointment.recipient,
        recipient_reason=appointment.recipient_reason,
        credit_balance=account.credit_balance,
        segments=message.segments,
    )
