"""One model, one migration history, both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from reminders.bootstrap import Services
from reminders.models import Account, Base


def test_migrations_match_the_models(services: Services) -> None:
    with services.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_timestamps_come_back_aware_in_utc(services: Services) -> None:
    zurich_noon = datetime(2026, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    with services.factory.begin() as session:
        account = Account(name="x", created_at=zurich_noon)
        session.add(account)
    with services.factory.begin() as session:
        stored = session.scalars(select(Account.created_at)).one()
    assert stored == zurich_noon
    assert stored.tzinfo == UTC
    assert stored.hour == 10


def test_naive_timestamps_are_refused(services: Services) -> None:
    with services.factory.begin() as session:
        session.add(Account(name="x", created_at=datetime(2026, 1, 1)))  # noqa: DTZ001 - the point of the test
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()
        session.rollback()
