"""Dispatch on SQLite and PostgreSQL: claims, gates, credit, gateway outcomes, lease recovery."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from connectors.calendars.memory import InMemoryCalendar
from connectors.sms.base import OutcomeUnknown, OutgoingSms, SendError, SentSms
from connectors.sms.console import ConsoleGateway
from reminders.billing import credit
from reminders.bootstrap import Services
from reminders.calendars.sync import sync_connection
from reminders.dispatch.service import Dispatcher, DispatchPolicy, Outcome
from reminders.models import Account, CalendarConnection, CreditEntry, SendAttempt
from reminders.reasons import FailReason, ReminderState, SkipReason
from tests.support.clock import FakeClock
from tests.support.factories import event, make_account, make_calendar
from tests.support.reading import all_reminders


@dataclass
class Salon:
    account_id: int
    calendar_id: int
    source: InMemoryCalendar = field(default_factory=InMemoryCalendar)


def make_salon(
    services: Services, *, credit_balance: int = 10, rules: tuple[tuple[int, str], ...] = ((2, "hours"),)
) -> Salon:
    with services.factory.begin() as session:
        account = make_account(
            session, credit_balance=credit_balance, now=services.clock(), name="Salon Bella"
        )
        connection = make_calendar(session, account, rules=rules, name="Termine")
        return Salon(account.id, connection.id)


def plan(services: Services, salon: Salon, *events_: object) -> None:
    for e in events_:
        salon.source.put(e)  # type: ignore[arg-type]
    sync_connection(services.factory, salon.calendar_id, salon.source, now=services.clock(), horizon_days=60)


def dispatcher(services: Services, gateway: object | None = None, owner: str = "w1") -> Dispatcher:
    return Dispatcher(
        services.factory,
        gateway or services.gateway,  # type: ignore[arg-type]
        owner=owner,
        clock=services.clock,
        policy=DispatchPolicy(lease=timedelta(minutes=2), retry_after=timedelta(minutes=1)),
    )


def balance(services: Services, account_id: int) -> tuple[int, int]:
    with services.factory.begin() as session:
        return session.get_one(Account, account_id).credit_balance, credit.ledger_sum(session, account_id)


def due_now(services: Services, clock: FakeClock, salon: Salon, n: int = 1, **kwargs: object) -> None:
    """Plan `n` appointments whose 2-hour reminder is due in one minute, then move the clock there."""
    start = clock() + timedelta(hours=2, minutes=1)
    plan(services, salon, *(event(f"e{i}", start, **kwargs) for i in range(n)))  # type: ignore[arg-type]
    clock.advance(timedelta(minutes=1))


def test_a_due_reminder_is_rendered_debited_sent_and_recorded(
    services: Services, clock: FakeClock, gateway: ConsoleGateway
) -> None:
    salon = make_salon(services)
    due_now(services, clock, salon, title="Kontrolle 079 123 45 67", location="Praxis am See")

    outcomes = dispatcher(services).run_once()

    assert outcomes == {Outcome.SENT: 1}
    (reminder,) = all_reminders(services)
    assert reminder.state == ReminderState.SENT
    assert reminder.sent_at == clock()
    assert reminder.body is not None
    assert "079" not in reminder.body  # the number is removed from the title shown to the client
    assert (reminder.encoding, reminder.segments) == ("gsm7", 1)
    (sms,) = gateway.outbox
    assert (sms.sms.to, sms.sms.sender, sms.sms.body) == ("+41791234567", "Reminder", reminder.body)
    with services.factory.begin() as session:
        (attempt,) = session.scalars(select(SendAttempt))
        assert (attempt.outcome, attempt.provider_message_id) == ("sent", sms.provider_message_id)
    assert balance(services, salon.account_id) == (9, 9)


def test_nothing_is_claimed_before_its_time(services: Services, clock: FakeClock) -> None:
    salon = make_salon(services)
    plan(services, salon, event("later", clock() + timedelta(hours=3)))

    assert dispatcher(services).run_once() == {}
    assert [r.state for r in all_reminders(services)] == [ReminderState.SCHEDULED]


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("disable_calendar", SkipReason.CALENDAR_DISABLED),
        ("no_number", SkipReason.NO_RECIPIENT),
        ("no_credit", SkipReason.NO_CREDIT),
        ("started", SkipReason.APPOINTMENT_STARTED),
    ],
)
def test_a_failing_gate_skips_with_its_reason_and_costs_nothing(
    services: Services, clock: FakeClock, gateway: ConsoleGateway, setup: str, reason: SkipReason
) -> None:
    salon = make_salon(services, credit_balance=0 if setup == "no_credit" else 5)
    due_now(services, clock, salon, location="Praxis" if setup == "no_number" else "079 123 45 67")
    if setup == "disable_calendar":
        with services.factory.begin() as session:
            session.get_one(CalendarConnection, salon.calendar_id).enabled = False
    if setup == "started":
        clock.advance(timedelta(hours=3))  # the worker was down past the appointment

    assert dispatcher(services).run_once() == {Outcome.SKIPPED: 1}

    (reminder,) = all_reminders(services)
    assert (reminder.state, reminder.reason) == (ReminderState.SKIPPED, reason)
    assert gateway.outbox == []
    expected = 0 if setup == "no_credit" else 5
    assert balance(services, salon.account_id) == (expected, expected)


def test_two_workers_never_claim_the_same_reminder(services: Services, clock: FakeClock) -> None:
    salon = make_salon(services, credit_balance=1000)
    due_now(services, clock, salon, n=60)
    workers = [dispatcher(services, owner=f"w{i}") for i in range(4)]
    barrier = threading.Barrier(len(workers))

    def claim_all(worker: Dispatcher) -> list[int]:
        barrier.wait()
        claimed: list[int] = []
        while batch := worker.claim():
            claimed += batch
        return claimed

    with ThreadPoolExecutor(len(workers)) as pool:
        results = list(pool.map(claim_all, workers))

    flat = [i for ids in results for i in ids]
    assert len(flat) == len(set(flat)) == 60


def test_exactly_once_with_concurrent_dispatchers(
    services: Services, clock: FakeClock, gateway: ConsoleGateway
) -> None:
    salon = make_salon(services, credit_balance=1000)
    due_now(services, clock, salon, n=40)
    workers = [dispatcher(services, owner=f"w{i}") for i in range(3)]

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda w: w.run_once(ThreadPoolExecutor(2)), workers))

    assert {r.state for r in all_reminders(services)} == {ReminderState.SENT}
    keys = [m.sms.idempotency_key for m in gateway.outbox]
    assert len(keys) == len(set(keys)) == 40
    assert balance(services, salon.account_id) == (960, 960)


@dataclass
class FlakyGateway:
    """Fails the first `failures` sends with the given error, then behaves like the console."""

    error: SendError
    failures: int = 1
    name: str = "flaky"
    inner: ConsoleGateway = field(default_factory=lambda: ConsoleGateway(quiet=True))

    def send(self, sms: OutgoingSms) -> SentSms:
        if self.failures:
            self.failures -= 1
            raise self.error
        return self.inner.send(sms)

    def lookup(self, idempotency_key: str) -> SentSms | None:
        return self.inner.lookup(idempotency_key)


def test_a_transient_gateway_error_refunds_and_retries_later(services: Services, clock: FakeClock) -> None:
    salon = make_salon(services)
    due_now(services, clock, salon)
    flaky = FlakyGateway(SendError("gateway timed out", permanent=False))
    worker = dispatcher(services, flaky)

    assert worker.run_once() == {Outcome.RETRY: 1}
    (reminder,) = all_reminders(services)
    assert (reminder.state, reminder.attempts, reminder.due_at) == (
        ReminderState.SCHEDULED,
        1,
        clock() + timedelta(minutes=1),
    )
    assert balance(services, salon.account_id) == (10, 10)

    clock.advance(timedelta(minutes=1))
    assert worker.run_once() == {Outcome.SENT: 1}
    assert balance(services, salon.account_id) == (9, 9)
    with services.factory.begin() as session:
        attempts = session.scalars(select(SendAttempt).order_by(SendAttempt.number)).all()
        assert [(a.number, a.outcome) for a in attempts] == [(1, "failed"), (2, "sent")]
        kinds = session.scalars(select(CreditEntry.kind).order_by(CreditEntry.id)).all()
        assert kinds == ["grant", "send", "refund", "send"]


def test_a_permanent_gateway_error_fails_and_refunds(services: Services, clock: FakeClock) -> None:
    salon = make_salon(services)
    due_now(services, clock, salon)
    rejecting = FlakyGateway(SendError("21211 invalid 'To' number", permanent=True, provider_code="21211"))

    assert dispatcher(services, rejecting).run_once() == {Outcome.FAILED: 1}

    (reminder,) = all_reminders(services)
    assert (reminder.state, reminder.reason) == (ReminderState.FAILED, FailReason.GATEWAY_REJECTED)
    assert balance(services, salon.account_id) == (10, 10)


def test_retries_stop_after_the_last_attempt(services: Services, clock: FakeClock) -> None:
    salon = make_salon(services)
    due_now(services, clock, salon)
    down = FlakyGateway(SendError("503", permanent=False), failures=99)
    worker = dispatcher(services, down)

    outcomes = []
    for _ in range(3):
        outcomes += list(worker.run_once())
        clock.advance(timedelta(minutes=5))

    assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.FAILED]
    (reminder,) = all_reminders(services)
    assert (reminder.state, reminder.reason, reminder.attempts) == (
        ReminderState.FAILED,
        FailReason.GATEWAY_UNAVAILABLE,
        3,
    )


def test_a_crashed_worker_s_claims_return_to_the_queue(services: Services, clock: FakeClock) -> None:
    salon = make_salon(services)
    due_now(services, clock, salon)
    dead = dispatcher(services, owner="dead")
    assert len(dead.claim()) == 1  # claimed, then the process died

    clock.advance(timedelta(minutes=3))
    survivor = dispatcher(services, owner="alive")
    assert survivor.recover_leases() == 1
    assert survivor.run_once() == {Outcome.SENT: 1}


class CrashAfterSend(ConsoleGateway):
    """Sends, then the worker "dies" before recording the outcome."""

    def send(self, sms: OutgoingSms) -> SentSms:
        super().send(sms)
        raise SystemExit("worker killed")


def _crash_mid_send(services: Services, clock: FakeClock, gateway: ConsoleGateway) -> Salon:
    salon = make_salon(services)
    due_now(services, clock, salon)
    worker = dispatcher(services, gateway, owner="dying")
    (reminder_id,) = worker.claim()
    with pytest.raises(SystemExit):
        worker.process(reminder_id)  # SystemExit is not caught: the row stays "sending"
    return salon


def test_a_message_sent_before_a_crash_is_settled_from_the_gateway_not_resent(
    services: Services, clock: FakeClock
) -> None:
    gateway = CrashAfterSend(quiet=True)
    salon = _crash_mid_send(services, clock, gateway)
    (reminder,) = all_reminders(services)
    assert reminder.state == ReminderState.SENDING

    clock.advance(timedelta(minutes=3))
    assert dispatcher(services, gateway, owner="alive").recover_leases() == 1

    (reminder,) = all_reminders(services)
    assert reminder.state == ReminderState.SENT
    assert len(gateway.outbox) == 1
    assert balance(services, salon.account_id) == (9, 9)


def test_an_unknowable_outcome_is_reported_not_resent(services: Services, clock: FakeClock) -> None:
    gateway = CrashAfterSend(quiet=True)
    _crash_mid_send(services, clock, gateway)

    class Amnesiac(ConsoleGateway):
        def lookup(self, idempotency_key: str) -> SentSms | None:
            raise OutcomeUnknown("gateway restarted")

    clock.advance(timedelta(minutes=3))
    assert dispatcher(services, Amnesiac(quiet=True), owner="alive").recover_leases() == 1

    (reminder,) = all_reminders(services)
    assert (reminder.state, reminder.reason) == (ReminderState.FAILED, FailReason.OUTCOME_UNKNOWN)


def test_earliest_due_is_the_next_scheduled_reminder(services: Services, clock: FakeClock) -> None:
    salon = make_salon(services)
    start: datetime = clock() + timedelta(hours=5)
    plan(services, salon, event("a", start), event("b", start + timedelta(hours=1)))

    assert dispatcher(services).earliest_due() == start - timedelta(hours=2)
