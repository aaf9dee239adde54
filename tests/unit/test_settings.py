from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from reminders.settings import Settings


def test_development_defaults_work_out_of_the_box() -> None:
    settings = Settings()
    assert settings.env == "development"
    assert settings.database_url == "sqlite:///./reminders.db"
    assert settings.is_sqlite


def test_settings_come_from_reminders_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDERS_DATABASE_URL", "postgresql+psycopg://u@db/reminders")
    monkeypatch.setenv("REMINDERS_PLANNING_HORIZON_DAYS", "30")
    settings = Settings()
    assert (settings.database_url, settings.planning_horizon_days, settings.is_sqlite) == (
        "postgresql+psycopg://u@db/reminders",
        30,
        False,
    )


def test_production_refuses_the_development_secret_and_plain_http() -> None:
    with pytest.raises(ValidationError) as error:
        Settings(env="production")
    message = str(error.value)
    assert "REMINDERS_SECRET_KEY" in message
    assert "REMINDERS_PUBLIC_URL" in message


def test_production_accepts_real_values() -> None:
    settings = Settings(
        env="production", secret_key=SecretStr("x" * 40), public_url="https://reminders.example.ch"
    )
    assert settings.env == "production"
