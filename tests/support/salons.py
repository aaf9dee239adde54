"""A salon for page tests: an account with credit, an in-memory calendar, an owner and a staff user."""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.calendars.base import RemoteEvent
from connectors.calendars.memory import InMemoryCalendar
from reminders.bootstrap import Services
from reminders.calendars.sync import sync_connection
from tests.support.factories import make_account, make_calendar
from tests.support.web import make_user


@dataclass
class Salon:
    """Ids and sign-in addresses of a salon; `source` is its calendar."""

    account_id: int
    calendar_id: int
    owner: str
    staff: str
    source: InMemoryCalendar = field(default_factory=InMemoryCalendar)


def make_salon(
    services: Services, name: str = "Praxis Sonne", *, credit: int = 20, language: str = "en"
) -> Salon:
    """A salon whose calendar reminds 2 hours before each appointment."""
    with services.factory.begin() as session:
        account = make_account(session, credit_balance=credit, now=services.clock(), name=name)
        calendar = make_calendar(session, account, rules=((2, "hours"),), name=f"{name} Kalender")
        owner = make_user(session, account, email=f"owner@{account.id}.example", language=language)
        staff = make_user(session, account, email=f"staff@{account.id}.example", role="staff")
        return Salon(account.id, calendar.id, owner.email, staff.email)


def sync_events(services: Services, salon: Salon, *events: RemoteEvent) -> None:
    """Put events into the salon's calendar and sync it (planning the reminders)."""
    for item in events:
        salon.source.put(item)
    sync_connection(services.factory, salon.calendar_id, salon.source, now=services.clock(), horizon_days=60)
