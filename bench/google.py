"""Benchmark: Google full sync of 10,000 events and incremental sync of 10 changes, against the emulator.

    python -m bench.google [--database-url URL] [--events 10000]

Targets (issue 3): full sync ≤ 10 s, incremental sync of 10 changes ≤ 0.3 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.run import fresh_database, oauth_calendar, time_full_then_changes
from connectors.calendars.google import GoogleToken
from connectors.sms.console import ConsoleGateway
from reminders.bootstrap import build_services
from reminders.settings import Settings
from tests.emulators.google import GoogleEmulator
from tests.support.google import google_settings

OWNER = "bench@salon.example"
CALENDAR = "bench@group.calendar.google.com"
NOW = datetime.now(UTC).replace(microsecond=0)
READONLY = "https://www.googleapis.com/auth/calendar.readonly"


def event(i: int, *, moved: bool = False) -> dict[str, object]:
    start = NOW + timedelta(days=1 + i % 59, minutes=15 * (i % 40), hours=1 if moved else 0)
    return {
        "id": f"bench{i:06d}",
        "summary": f"Termin {i}",
        "location": f"07{8 + i % 2} {100 + i % 900:03d} {10 + i % 90:02d} {10 + (i // 90) % 90:02d}",
        "description": f"<p>Behandlung {i}</p>",
        "start": {"dateTime": start.isoformat(), "timeZone": "Europe/Zurich"},
        "end": {"dateTime": (start + timedelta(minutes=45)).isoformat(), "timeZone": "Europe/Zurich"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, GoogleEmulator() as google:
        google.add_user(OWNER)
        google.add_calendar(OWNER, CALENDAR, "Bench")
        for i in range(args.events):
            google.put_event(CALENDAR, event(i))
        url = fresh_database(args.database_url, Path(tmp))
        print(f"database: {url.split('://')[0]}; Google full sync of {args.events} events, then 10 changes")
        settings = Settings(
            env="test",
            database_url=url,
            data_dir=Path(tmp),
            **google_settings(google),
        )
        services = build_services(settings, gateway=ConsoleGateway(quiet=True))
        access, refresh = google.issue_tokens(OWNER, [READONLY])
        token = GoogleToken(access, refresh, NOW + timedelta(hours=1), (READONLY,))
        connection_id = oauth_calendar(
            services, provider="google", external_id=CALENDAR, subject=OWNER, token_json=token.to_json()
        )

        def move_ten() -> None:
            for i in range(10):
                google.put_event(CALENDAR, event(i, moved=True))

        time_full_then_changes(services, connection_id, label="Google", change=move_ten)
        services.close()


if __name__ == "__main__":
    main()
