"""Send due reminders exactly once: claim, gate, debit, send, record.

A claimed batch walks `queued → sending → sent` in three steps:

1. one transaction locks the claimed rows, runs the gates, debits the credit and writes a send
   attempt (with an idempotency key) for every reminder that may go;
2. the gateway is called for each, outside any transaction (in the caller's thread pool);
3. one transaction records every outcome.

A crash between any two steps leaves rows that lease recovery settles without ever sending twice.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connectors.sms.base import OutgoingSms, SendError, SentSms, SmsGateway
from reminders.billing import credit
from reminders.dispatch import recovery, repository
from reminders.dispatch.gates import GateInput, first_failure
from reminders.dispatch.render import RenderedMessage, calendar_templates, render_reminder
from reminders.dispatch.transitions import finish, requeue, settle_sent
from reminders.models import Account, Appointment, CalendarConnection, Reminder, SendAttempt
from reminders.numbers.blocklist import blocked_kinds
from reminders.reasons import FailReason, ReminderState

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


@dataclass(frozen=True, slots=True)
class _Prepared:
    reminder_id: int
    attempt_id: int
    account_id: int
    starts_at: datetime
    attempts: int
    sms: OutgoingSms


@dataclass(frozen=True, slots=True)
class _Pending:
    reminder: Reminder
    attempt: SendAttempt
    sms: OutgoingSms
    account_id: int
    starts_at: datetime


@dataclass(frozen=True, slots=True)
class _Result:
    prepared: _Prepared
    sent: SentSms | None = None
    error: str = ""
    permanent: bool = False


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
        """Claim one batch and process it (gateway calls in `executor` when given); returns outcome counts."""
        return self.process_batch(self.claim(), executor)

    def process(self, reminder_id: int) -> Outcome:
        """Process one reminder this worker has claimed."""
        (outcome,) = self.process_batch([reminder_id]).elements()
        return outcome

    def process_batch(self, ids: Sequence[int], executor: Executor | None = None) -> Counter[Outcome]:
        """Gate, debit, send and record reminders this worker has claimed. Never raises for one bad row."""
        counts: Counter[Outcome] = Counter()
        if not ids:
            return counts
        try:
            prepared = self._prepare(ids, counts)
        except Exception:
            # Nothing was written; the leases expire and recovery puts the rows back in the queue.
            log.exception("dispatch.prepare.crashed batch=%s", len(ids))
            counts[Outcome.FAILED] += len(ids)
            return counts
        results = list(executor.map(self._send, prepared)) if executor else [self._send(p) for p in prepared]
        try:
            self._record(results, counts)
        except Exception:
            # The attempts stay "sending"; recovery settles them from the gateway's own records.
            log.exception("dispatch.record.crashed batch=%s", len(results))
            counts[Outcome.FAILED] += len(results)
        return counts

    def earliest_due(self) -> datetime | None:
        """When the next scheduled reminder falls due."""
        with self._factory.begin() as session:
            return repository.earliest_due(session)

    def recover_leases(self) -> int:
        """Settle reminders whose worker died mid-way; returns how many were settled."""
        with self._factory.begin() as session:
            return recovery.recover_expired(session, self._gateway, now=self._clock())

    def _prepare(self, ids: Sequence[int], counts: Counter[Outcome]) -> list[_Prepared]:
        now = self._clock()
        prepared: list[_Pending] = []
        with self._factory.begin() as session:
            rows = repository.lock_claimed(session, ids, owner=self._owner)
            if lost := len(ids) - len(rows):
                counts[Outcome.LOST] += lost
            templates = calendar_templates(session, {c.id for _, _, c, _ in rows})
            # One query for the whole batch, like the templates: which recipients are blocked.
            blocked = blocked_kinds(session, {(acc.id, a.recipient) for _, a, _, acc in rows if a.recipient})
            with session.no_autoflush:  # one flush for the whole batch, not one per statement
                for reminder, appointment, connection, account in rows:
                    item = self._prepare_one(
                        session,
                        reminder,
                        appointment,
                        connection,
                        account,
                        templates,
                        blocked.get((account.id, appointment.recipient or "")),
                        now,
                    )
                    if isinstance(item, Outcome):
                        counts[item] += 1
                    else:
                        prepared.append(item)
            session.flush()
            return [
                _Prepared(p.reminder.id, p.attempt.id, p.account_id, p.starts_at, p.reminder.attempts, p.sms)
                for p in prepared
            ]

    def _prepare_one(
        self,
        session: Session,
        reminder: Reminder,
        appointment: Appointment,
        connection: CalendarConnection,
        account: Account,
        templates: Mapping[int, Mapping[str, str]],
        blocked: str | None,
        now: datetime,
    ) -> _Pending | Outcome:
        try:
            message = render_reminder(appointment, account, connection, templates.get(connection.id, {}))
        except Exception as exc:  # a template that slipped past validation must not block the rest
            log.warning("reminder.render_failed reminder=%s error=%s", reminder.id, exc)
            finish(reminder, ReminderState.FAILED, FailReason.RENDER_FAILED, now)
            return Outcome.FAILED
        _store_message(reminder, message)
        failure = first_failure(
            _gate_input(now, connection, appointment, account.credit_balance, message, blocked)
        )
        if failure is None and not credit.debit(
            session, account, message.segments, reminder_id=reminder.id, now=now
        ):
            failure = first_failure(
                _gate_input(now, connection, appointment, account.credit_balance, message, blocked)
            )
        if failure is not None:
            finish(reminder, ReminderState.SKIPPED, failure.reason, now)
            log.info("reminder.skipped reminder=%s reason=%s", reminder.id, failure.reason)
            return Outcome.SKIPPED
        reminder.attempts += 1
        reminder.state = ReminderState.SENDING
        reminder.lease_until = now + self._policy.lease
        reminder.updated_at = now
        sms = OutgoingSms(
            to=appointment.recipient or "",
            sender=connection.sender_name or account.sender_name,
            body=message.body,
            idempotency_key=f"reminder-{reminder.id}-{reminder.attempts}",
            segments=message.segments,
        )
        attempt = _attempt_row(reminder, account.id, sms, message, self._gateway.name, now)
        session.add(attempt)
        return _Pending(reminder, attempt, sms, account.id, appointment.starts_at)

    def _send(self, prepared: _Prepared) -> _Result:
        try:
            return _Result(prepared, sent=self._gateway.send(prepared.sms))
        except SendError as exc:
            return _Result(prepared, error=str(exc), permanent=exc.permanent)
        except Exception as exc:  # an adapter bug or a network error the adapter did not sort
            log.exception("sms.send.crashed reminder=%s", prepared.reminder_id)
            return _Result(prepared, error=f"{type(exc).__name__}: {exc}")

    def _record(self, results: Sequence[_Result], counts: Counter[Outcome]) -> None:
        if not results:
            return
        now = self._clock()
        with self._factory.begin() as session:
            reminders = repository.lock_sending(session, [r.prepared.reminder_id for r in results])
            attempts = {a.id: a for a in session.scalars(select(SendAttempt).where(SendAttempt.id.in_(
                [r.prepared.attempt_id for r in results])))}  # fmt: skip
            for result in results:
                reminder = reminders.get(result.prepared.reminder_id)
                attempt = attempts[result.prepared.attempt_id]
                if reminder is None:  # recovery settled it meanwhile (the lease ran out mid-send)
                    counts[Outcome.LOST] += 1
                elif result.sent is not None:
                    settle_sent(reminder, attempt, result.sent, now=now)
                    counts[Outcome.SENT] += 1
                else:
                    counts[self._record_failure(session, reminder, attempt, result, now)] += 1

    def _record_failure(
        self, session: Session, reminder: Reminder, attempt: SendAttempt, result: _Result, now: datetime
    ) -> Outcome:
        prepared = result.prepared
        attempt.outcome, attempt.error, attempt.finished_at = "failed", result.error[:2000], now
        credit.refund(session, prepared.account_id, prepared.sms.segments, reminder_id=reminder.id, now=now,
                      note="not sent")  # fmt: skip
        retry_at = now + self._policy.retry_after * prepared.attempts
        if (
            not result.permanent
            and prepared.attempts < self._policy.max_attempts
            and retry_at < prepared.starts_at
        ):
            requeue(reminder, now, due_at=retry_at)
            log.warning("sms.send.retry reminder=%s error=%s", reminder.id, result.error)
            return Outcome.RETRY
        reason = FailReason.GATEWAY_REJECTED if result.permanent else FailReason.GATEWAY_UNAVAILABLE
        finish(reminder, ReminderState.FAILED, reason, now)
        log.warning("sms.send.failed reminder=%s error=%s", reminder.id, result.error)
        return Outcome.FAILED


def _store_message(reminder: Reminder, message: RenderedMessage) -> None:
    reminder.body, reminder.encoding, reminder.segments = message.body, message.encoding, message.segments


def _attempt_row(
    reminder: Reminder,
    account_id: int,
    sms: OutgoingSms,
    message: RenderedMessage,
    gateway: str,
    now: datetime,
) -> SendAttempt:
    return SendAttempt(
        reminder_id=reminder.id,
        account_id=account_id,
        number=reminder.attempts,
        idempotency_key=sms.idempotency_key,
        gateway=gateway,
        recipient=sms.to,
        sender=sms.sender,
        body=sms.body,
        encoding=message.encoding,
        segments=message.segments,
        started_at=now,
    )


def _gate_input(
    now: datetime,
    connection: CalendarConnection,
    appointment: Appointment,
    balance: int,
    message: RenderedMessage,
    blocked: str | None,
) -> GateInput:
    return GateInput(
        now=now,
        calendar_name=connection.name,
        calendar_enabled=connection.enabled,
        appointment_status=appointment.status,
        starts_at=appointment.starts_at,
        recipient=appointment.recipient,
        recipient_reason=appointment.recipient_reason,
        credit_balance=balance,
        segments=message.segments,
        blocked=blocked,
    )
