"""Benchmark: Outlook delta sync of 10,000 events and of 10 changes, against the Graph emulator.

python -m bench.microsoft [--database-url URL] [--events 10000]
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.run import fresh_database, oauth_calendar, time_full_then_changes
from connectors.calendars.microsoft import TokenCacheState
from connectors.sms.console import ConsoleGateway
from reminders.bootstrap import build_services
from reminders.settings import Settings
from tests.emulators.microsoft import MicrosoftEmulator
from tests.support.microsoft import microsoft_settings, sign_in

OWNER = "bench@contoso.example"
CALENDAR = "bench-calendar"
NOW = datetime.now(UTC).replace(microsecond=0)


def event(i: int, *, moved: bool = False) -> dict[str, object]:
    start = (NOW + timedelta(days=1 + i % 59, minutes=15 * (i % 40), hours=1 if moved else 0)).replace(
        tzinfo=None
    )
    return {
        "id": f"bench{i:06d}",
        "subject": f"Termin {i}",
        "location": {
            "displayName": f"07{8 + i % 2} {100 + i % 900:03d} {10 + i % 90:02d} {10 + (i // 90) % 90:02d}"
        },
        "body": {"contentType": "html", "content": f"<p>Behandlung {i}</p>"},
        "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
        "end": {"dateTime": (start + timedelta(minutes=45)).isoformat(), "timeZone": "UTC"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, MicrosoftEmulator() as ms:
        ms.add_user(OWNER)
        ms.add_calendar(OWNER, CALENDAR, "Bench")
        for i in range(args.events):
            ms.put_event(OWNER, CALENDAR, event(i))
        url = fresh_database(args.database_url, Path(tmp))
        print(f"database: {url.split('://')[0]}; Outlook delta sync of {args.events} events, then 10 changes")
        settings = Settings(env="test", database_url=url, data_dir=Path(tmp), **microsoft_settings(ms))
        services = build_services(settings, gateway=ConsoleGateway(quiet=True))
        state: TokenCacheState = sign_in(ms, services.microsoft_app, OWNER)
        connection_id = oauth_calendar(
            services, provider="microsoft", external_id=CALENDAR, subject=OWNER, token_json=state.to_json()
        )

        def move_ten() -> None:
            for i in range(10):
                ms.put_event(OWNER, CALENDAR, event(i, moved=True))

        time_full_then_changes(services, connection_id, label="Outlook", change=move_ten)
        services.close()


if __name__ == "__main__":
    main()
