"""The README's configuration section names every setting by its environment variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reminders.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def env_names() -> list[str]:
    """The environment variable of each setting: the prefix and the field name, in capitals."""
    prefix = Settings.model_config.get("env_prefix") or ""
    return [(prefix + name).upper() for name in Settings.model_fields]


def test_the_names_are_the_variables_the_settings_read(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "REMINDERS_ICS_ALLOW_PRIVATE_NETWORKS" in env_names()
    monkeypatch.setenv("REMINDERS_ICS_ALLOW_PRIVATE_NETWORKS", "true")
    monkeypatch.setenv("REMINDERS_SESSION_DAYS", "3")
    read = Settings(env="test")
    assert (read.ics_allow_private_networks, read.session_days) == (True, 3)


def test_every_setting_is_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    # Whole names: `REMINDERS_SMTP_PORT` must not count for a `REMINDERS_SMTP_PORTS`, nor `_PORT` for it.
    missing = [name for name in env_names() if not re.search(rf"\b{name}\b", readme)]
    assert missing == [], f"add these to README.md's configuration section: {', '.join(missing)}"
