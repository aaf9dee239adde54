"""Test databases: a migrated SQLite file per test, and the CI's PostgreSQL reset per test."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from reminders.migrations import upgrade
from reminders.models import Base

PG_ENV = "REMINDERS_TEST_DATABASE_URL"


def in_ci() -> bool:
    """True on CI, where a missing service is a failure rather than a skip."""
    return os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason: str) -> None:
    """Skip locally with a visible reason; fail on CI."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: required here)")
    pytest.skip(reason)


def prepare_postgres() -> str:
    """The PostgreSQL URL with a freshly migrated schema, or a skip when there is none."""
    url = os.environ.get(PG_ENV)
    if not url:
        skip_or_fail(
            f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
        raise AssertionError("unreachable")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    except Exception as exc:
        skip_or_fail(f"PostgreSQL at {PG_ENV} is not reachable: {exc.__class__.__name__}")
    finally:
        engine.dispose()
    upgrade(url)
    return url


def reset_postgres(url: str) -> None:
    """Empty every table and restart the id sequences."""
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


def migrated_sqlite_template(directory: Path) -> Path:
    """A migrated SQLite file to copy for each test (migrating once is much faster)."""
    path = directory / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def fresh_sqlite(template: Path, directory: Path) -> str:
    """A private copy of the migrated template."""
    target = directory / "reminders.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"
