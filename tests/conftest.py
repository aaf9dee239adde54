"""Fixtures shared by every test tier."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.sms.console import ConsoleGateway
from reminders.bootstrap import Services, build_services
from reminders.settings import Settings
from tests.support.clock import FakeClock
from tests.support.databases import fresh_sqlite, migrated_sqlite_template, prepare_postgres, reset_postgres


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return prepare_postgres()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """Each persistence test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return fresh_sqlite(sqlite_template, tmp_path)
    url: str = request.getfixturevalue("postgres_url")
    reset_postgres(url)
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def gateway() -> ConsoleGateway:
    return ConsoleGateway(quiet=True)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(env="test", database_url=database_url, data_dir=tmp_path / "data")


@pytest.fixture
def services(settings: Settings, gateway: ConsoleGateway, clock: FakeClock) -> Iterator[Services]:
    built = build_services(settings, gateway=gateway, clock=clock)
    yield built
    built.close()
