"""Small keyword-only factories for the rows most tests need."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from connectors.calendars.base import RemoteEvent
from reminders.billing import credit
from reminders.calendars import grants
from reminders.models import Account, CalendarConnection, ReminderRuleRow
from reminders.security.secrets import TokenCipher


def make_account(
    session: Session, *, credit_balance: int = 0, now: datetime | None = None, **overrides: Any
) -> Account:
    """An account in Zurich (quiet hours 21-08) with optional credit."""
    account = Account(name=overrides.pop("name", "Praxis Test"), **overrides)
    session.add(account)
    session.flush()
    if credit_balance:
        credit.grant(
            session, account.id, credit_balance, kind="grant", now=now or datetime.now().astimezone()
        )
    return account


def make_calendar(
    session: Session,
    account: Account,
    *,
    rules: tuple[tuple[int, str], ...] = ((24, "hours"), (2, "hours")),
    **overrides: Any,
) -> CalendarConnection:
    """An ICS-type connection with offset rules given as (amount, unit)."""
    connection = CalendarConnection(
        account_id=account.id,
        provider=overrides.pop("provider", "ics"),
        external_id=overrides.pop("external_id", f"memory://{account.id}"),
        name=overrides.pop("name", "Termine"),
        **overrides,
    )
    session.add(connection)
    session.flush()
    for amount, unit in rules:
        session.add(ReminderRuleRow(calendar_id=connection.id, kind="before", amount=amount, unit=unit))
    session.flush()
    return connection


def add_day_before_rule(session: Session, connection: CalendarConnection, at: time) -> ReminderRuleRow:
    """A "the day before at HH:MM" rule."""
    rule = ReminderRuleRow(calendar_id=connection.id, kind="day_before_at", at_time=at, days_before=1)
    session.add(rule)
    session.flush()
    return rule


def event(
    external_id: str,
    start: datetime,
    *,
    minutes: int = 45,
    title: str = "Kontrolle",
    location: str = "079 123 45 67",
    description: str = "",
    **overrides: Any,
) -> RemoteEvent:
    """A timed appointment with a Swiss mobile in its location."""
    return RemoteEvent(
        external_id=external_id,
        start=start,
        end=start + timedelta(minutes=minutes),
        title=title,
        location=location,
        description=description,
        timezone=overrides.pop("timezone", "Europe/Zurich"),
        **overrides,
    )


def make_oauth_calendar(
    session: Session,
    cipher: TokenCipher,
    account: Account,
    *,
    provider: str,
    external_id: str,
    subject: str,
    token_json: str,
    rules: tuple[tuple[int, str], ...] = ((24, "hours"),),
    **overrides: Any,
) -> CalendarConnection:
    """A Google or Microsoft connection with its grant (token encrypted as the service stores it)."""
    grant = grants.store_grant(
        session,
        cipher,
        account_id=account.id,
        provider=provider,
        subject=subject,
        token_json=token_json,
        scopes="",
        now=datetime.now(UTC),
    )
    return make_calendar(
        session,
        account,
        provider=provider,
        external_id=external_id,
        grant_id=grant.id,
        rules=rules,
        **overrides,
    )
