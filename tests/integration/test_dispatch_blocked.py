"""Dispatch and the account's lists: blacklisted and invalid numbers are never texted, at no cost."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from connectors.calendars.base import RemoteEvent
from connectors.calendars.memory import InMemoryCalendar
from connectors.sms.console import ConsoleGateway
from reminders.billing import credit
from reminders.bootstrap import Services
from reminders.calendars.sync import sync_connection
from reminders.dispatch.gates import GateInput, all_failures
from reminders.dispatch.service import Outcome
from reminders.models import Account
from reminders.numbers import blocklist
from reminders.reasons import ReminderState, SkipReason
from tests.support.clock import FakeClock
from tests.support.factories import event as remote_event
from tests.support.factories import make_account, make_calendar
from tests.support.reading import all_reminders

MOBILE = "+41791234567"


@dataclass
class Salon:
    account_id: int
    calendar_id: int
    source: InMemoryCalendar = field(default_factory=InMemoryCalendar)


def make_salon(services: Services, name: str = "Salon Bella") -> Salon:
    with services.factory.begin() as session:
        account = make_account(session, credit_balance=10, now=services.clock(), name=name)
        connection = make_calendar(session, account, rules=((2, "hours"),), external_id=f"memory://{name}")
        return Salon(account.id, connection.id)


def due_now(services: Services, clock: FakeClock, salon: Salon, *events: RemoteEvent) -> None:
    """Put the events in the calendar, plan them, and move the clock to when their reminders are due."""
    for item in events:
        salon.source.put(item)
    sync_connection(services.factory, salon.calendar_id, salon.source, now=services.clock(), horizon_days=60)
    clock.advance(timedelta(minutes=1))


def soon(clock: FakeClock, external_id: str, location: str = "079 123 45 67") -> RemoteEvent:
    """An appointment whose 2-hour reminder falls due in one minute."""
    return remote_event(external_id, clock() + timedelta(hours=2, minutes=1), location=location)


def block(services: Services, salon: Salon, kind: str, number: str = MOBILE) -> int:
    with services.factory.begin() as session:
        added = blocklist.add_number(
            session, salon.account_id, kind=kind, number=number, now=services.clock(), source="manual"
        )
        return added.entry.id


def balance(services: Services, account_id: int) -> tuple[int, int]:
    with services.factory.begin() as session:
        return session.get_one(Account, account_id).credit_balance, credit.ledger_sum(session, account_id)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("blacklist", SkipReason.RECIPIENT_BLOCKED), ("invalid", SkipReason.RECIPIENT_INVALID)],
)
def test_a_blocked_number_is_skipped_with_its_reason_and_costs_nothing(
    services: Services, clock: FakeClock, gateway: ConsoleGateway, kind: str, reason: SkipReason
) -> None:
    salon = make_salon(services)
    block(services, salon, kind)
    due_now(services, clock, salon, soon(clock, "e1"))

    assert services.dispatcher().run_once() == {Outcome.SKIPPED: 1}

    (reminder,) = all_reminders(services)
    assert (reminder.state, reminder.reason) == (ReminderState.SKIPPED, reason)
    assert gateway.outbox == []
    assert balance(services, salon.account_id) == (10, 10)


def test_removing_the_number_lets_later_reminders_go(
    services: Services, clock: FakeClock, gateway: ConsoleGateway
) -> None:
    salon = make_salon(services)
    entry_id = block(services, salon, "blacklist")
    due_now(services, clock, salon, soon(clock, "before"))
    assert services.dispatcher().run_once() == {Outcome.SKIPPED: 1}

    with services.factory.begin() as session:
        assert blocklist.remove(session, salon.account_id, entry_id) is not None
    due_now(services, clock, salon, soon(clock, "after"))

    assert services.dispatcher().run_once() == {Outcome.SENT: 1}
    assert [m.sms.to for m in gateway.outbox] == [MOBILE]
    assert balance(services, salon.account_id) == (9, 9)


def test_another_account_s_list_does_not_block(
    services: Services, clock: FakeClock, gateway: ConsoleGateway
) -> None:
    salon, other = make_salon(services), make_salon(services, "Praxis Nord")
    block(services, other, "blacklist")
    due_now(services, clock, salon, soon(clock, "e1"))

    assert services.dispatcher().run_once() == {Outcome.SENT: 1}


def test_a_batch_reads_the_lists_in_one_query(
    services: Services, clock: FakeClock, gateway: ConsoleGateway
) -> None:
    salon = make_salon(services)
    block(services, salon, "blacklist")
    block(services, salon, "invalid", "+41781112233")
    mobiles = ["079 123 45 67", "078 111 22 33", *(f"076 555 00 {i:02d}" for i in range(8))]
    due_now(services, clock, salon, *(soon(clock, f"e{i}", number) for i, number in enumerate(mobiles)))

    with _statements(services) as statements:
        outcomes = services.dispatcher().run_once()

    assert outcomes == {Outcome.SKIPPED: 2, Outcome.SENT: 8}
    assert sum("blocked_number" in sql for sql in statements) == 1
    reasons = sorted(str(r.reason) for r in all_reminders(services) if r.state == ReminderState.SKIPPED)
    assert reasons == [SkipReason.RECIPIENT_BLOCKED, SkipReason.RECIPIENT_INVALID]


def test_the_gate_explains_after_the_recipient_check(clock: FakeClock) -> None:
    ctx = GateInput(
        now=clock(),
        calendar_name="Termine",
        calendar_enabled=True,
        appointment_status="confirmed",
        starts_at=clock() + timedelta(hours=1),
        recipient=MOBILE,
        recipient_reason=None,
        credit_balance=0,
        segments=1,
        blocked="blacklist",
    )

    reasons = [failure.reason for failure in all_failures(ctx)]

    assert reasons == [SkipReason.RECIPIENT_BLOCKED, SkipReason.NO_CREDIT]


@contextmanager
def _statements(services: Services) -> Iterator[list[str]]:
    """The SQL statements run on the engine meanwhile."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(services.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(services.engine, "before_cursor_execute", record)
