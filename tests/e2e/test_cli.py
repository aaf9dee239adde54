"""The `reminders` command as a user runs it: separate processes, real HTTP, an SQLite file."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from reminders.demo import DEMO_EMAIL, DEV_DEMO_PASSWORD
from tests.support.processes import reminders_env, serving
from tests.support.processes import run_command as run
from tests.support.web import sign_in


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return reminders_env(tmp_path)


def test_phones_check_reads_json_lines(env: dict[str, str]) -> None:
    lines = [
        {"location": "Praxis", "title": "Anna 079 123 45 67"},
        {"location": "044 668 18 00"},
        {"title": "+41 79 123 45 67", "fields": ["location"]},
        {"description": "Tel: 06 12 34 56 78", "region": "FR"},
    ]
    result = run(["phones", "check"], env, "\n".join(json.dumps(line) for line in lines) + "\nnot json\n")

    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out[0]["number"] == "+41791234567"
    assert out[1] == {"number": None, "reason": "landline"}
    assert out[2] == {"number": None, "reason": "not_in_enabled_fields"}
    assert out[3]["number"] == "+33612345678"
    assert "error" in out[4]


@pytest.fixture
def served(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    assert run(["db", "upgrade"], env).returncode == 0
    demo = run(["demo", "--if-empty"], env)
    assert demo.returncode == 0, demo.stderr
    assert "Created account Demo Salon" in demo.stdout
    again = run(["demo", "--if-empty"], env)
    assert "already has data" in again.stdout
    with serving("serve", env, tmp_path / "serve.log") as base:
        yield base


def test_serve_shows_the_demo_and_sends_what_falls_due(served: str, env: dict[str, str]) -> None:
    browser = httpx.Client(base_url=served, timeout=10)
    assert browser.get("/").headers["location"].startswith("/login")
    sign_in(browser, DEMO_EMAIL, DEV_DEMO_PASSWORD)
    page = browser.get("/")
    assert page.status_code == 200
    assert "Demo Salon" in page.text

    # Bring the demo's first reminder forward to now, as another process would.
    engine = create_engine(env["REMINDERS_DATABASE_URL"])
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE reminder SET due_at = :now WHERE id = "
                "(SELECT id FROM reminder WHERE state = 'scheduled' ORDER BY due_at LIMIT 1)"
            ),
            {"now": datetime.now(UTC).replace(tzinfo=None)},
        )
    engine.dispose()

    # The attempt shows as "pending" once committed, then "sent" when the gateway's answer is recorded.
    deadline = time.monotonic() + 20
    outbox = ""
    while time.monotonic() < deadline:
        outbox = browser.get("/messages").text
        if "state-sent" in outbox:
            break
        time.sleep(0.2)
    browser.close()
    assert "Demo Salon" in outbox
    assert "state-sent" in outbox


def test_a_second_worker_on_the_same_sqlite_file_is_refused(served: str, env: dict[str, str]) -> None:
    second = run(["worker"], env)

    assert second.returncode == 1
    assert "exactly one" in second.stdout
