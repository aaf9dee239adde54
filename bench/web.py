"""Benchmark: every signed-in page of the web app, for an account with 100,000 appointments.

    python -m bench.web [--database-url URL] [--appointments 100000] [--runs 50] [--warmup 5]

Seeds one account (four calendars, 100,000 appointments from 180 days ago to 60 days ahead, two
reminders each in every state, send attempts and credit debits for the past ones, appointments
without numbers or with blocked numbers, templates, blocked-number lists) and a second account,
serves the app with uvicorn on loopback, signs in as the owner over HTTP and requests every
signed-in GET page (read from the app's routes; id pages with real ids; list filters; the second
page of every list that has one) `--runs` times after `--warmup` requests. Prints p50/p95/max per
page and exits with 1 when a page's p95 is over 100 ms. Downloads (CSV, Excel) are timed once, with
no limit: they hold up to 100,000 rows.

Without --database-url a fresh SQLite file in a temporary directory is used. The client and the
server share this process (and its GIL), as in the other benchmarks.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from sqlalchemy import Engine, Table, insert, text
from sqlalchemy.orm import Session

from bench.run import fresh_database
from connectors.sms.console import ConsoleGateway
from reminders.accounts.passwords import hash_password
from reminders.batching import chunks
from reminders.bootstrap import build_services
from reminders.models import (
    Account,
    Appointment,
    Base,
    BlockedNumber,
    CalendarConnection,
    CalendarTemplate,
    CreditEntry,
    MessageTemplate,
    Reminder,
    ReminderRuleRow,
    SendAttempt,
    User,
)
from reminders.reasons import CancelReason, FailReason, NoRecipientReason, ReminderState, SkipReason
from reminders.settings import Settings
from reminders.web.app import create_app
from reminders.web.routes import endpoints
from tests.support.server import live_server

NOW = datetime.now(UTC).replace(microsecond=0)
OWNER = "owner@bench-praxis.example"
PASSWORD = "bench password 2026"
LIMIT_MS = 100.0
RULES = ((24, "hours"), (2, "hours"))
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_NEXT = re.compile(r'href="(/[^"]*(?:[?&]|&amp;)(?:after|page)=[^"]*)"')

TREATMENTS = ("Kontrolle", "Dentalhygiene", "Haarschnitt", "Physiotherapie", "Beratung", "Massage")
FIRST = ("Anna", "Beat", "Carla", "Daniel", "Eva", "Fabio", "Gina", "Hans", "Iris", "Jonas")
LAST = ("Muster", "Keller", "Rossi", "Frei", "Meier", "Huber", "Weber", "Schmid", "Brunner", "Gerber")
TEMPLATE = "Guten Tag! Ihr Termin bei {business} am {weekday}, {date} um {time}, {location}."
BODY = "Erinnerung: Ihr Termin bei Bench Praxis am Di, 24.11. um 14:30 Uhr. Bitte 10 Minuten vorher da sein."


# --- seeding --------------------------------------------------------------------------------------


@dataclass
class Seeded:
    """Ids of rows the id pages are opened with."""

    account_id: int
    calendar_ids: list[int]
    values: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class Ids:
    """The next explicit id of each bulk-inserted table."""

    appointment: int = 1
    reminder: int = 1
    attempt: int = 1
    ledger: int = 1


def seed(engine: Engine, session: Session, appointments: int) -> Seeded:
    """Both accounts; the big one gets `appointments` appointments."""
    rng = random.Random(7)
    ids = Ids()
    big = _account(session, "Bench Praxis", OWNER, calendars=4, staff=3, rng=rng)
    other = _account(session, "Salon Nebenan", "owner@salon-nebenan.example", calendars=1, staff=0, rng=rng)
    session.commit()
    counts: dict[str, int] = {}
    for account, count in ((big, appointments), (other, max(appointments // 50, 100))):
        for table, rows in _bulk_rows(account, count, rng, ids).items():
            with engine.begin() as connection:
                for chunk in chunks(rows, 5_000):
                    connection.execute(insert(table), chunk)
            counts[table.name] = counts.get(table.name, 0) + len(rows)
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE account SET credit_balance = :balance WHERE id = :id"),
                {"balance": account.balance, "id": account.id},
            )
    if engine.dialect.name == "postgresql":
        # Explicit ids leave the sequences behind; the app inserts rows later (send attempts, sessions).
        with engine.begin() as connection:
            for table in Base.metadata.sorted_tables:
                if "id" in table.c and table.c.id.primary_key:
                    connection.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"(SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false)"
                        )
                    )
        # As autovacuum would after a load this size. SQLite is left without statistics, as the
        # service runs it (nothing runs ANALYZE there).
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    past = _pick(engine, big, past=True)
    future = _pick(engine, big, past=False)
    values = {
        "connection_id": [str(big.calendar_ids[0])],
        "calendar_id": [str(big.calendar_ids[0])],
        "rule_id": [str(big.rule_ids[0])],
        "template_id": [str(big.template_ids[0])],
        "appointment_id": [str(past), str(future)],
        "user_id": [str(big.staff_ids[0])],
        "entry_id": [str(big.entry_ids[0])],
        "kind": ["blacklist", "invalid"],
    }
    return Seeded(big.id, big.calendar_ids, values, counts)


@dataclass
class _Account:
    id: int
    calendar_ids: list[int]
    rule_ids: list[int]
    rules: dict[int, list[tuple[int, timedelta]]]
    template_ids: list[int]
    staff_ids: list[int]
    entry_ids: list[int]
    blocked: list[str]
    balance: int = 0


def _account(
    session: Session, name: str, owner: str, *, calendars: int, staff: int, rng: random.Random
) -> _Account:
    account = Account(name=name, sender_name="BenchPraxis", created_at=NOW - timedelta(days=400))
    session.add(account)
    session.flush()
    password = hash_password(PASSWORD)
    domain = owner.split("@")[1]
    people = [
        User(
            account_id=account.id,
            email=email,
            name=email.split("@")[0].title(),
            password_hash=password,
            role="owner" if email == owner else "staff",
            language="de",
            email_confirmed_at=NOW - timedelta(days=300),
        )
        for email in [owner, *(f"staff{i}@{domain}" for i in range(staff))]
    ]
    session.add_all(people)
    templates = [
        MessageTemplate(account_id=account.id, name=f"Vorlage {i}", language=language, body=TEMPLATE)
        for i, language in enumerate(("de", "de", "fr", "it", "en"))
    ]
    session.add_all(templates)
    connections = [
        CalendarConnection(
            account_id=account.id,
            provider="ics",
            external_id=f"https://calendar.example/{account.id}/{i}.ics",
            name=f"Raum {i + 1}",
            last_synced_at=NOW - timedelta(minutes=3),
            next_sync_at=NOW + timedelta(days=365),
        )
        for i in range(calendars)
    ]
    session.add_all(connections)
    session.flush()
    rules: dict[int, list[tuple[int, timedelta]]] = {}
    rule_ids = []
    for connection in connections:
        rows = [ReminderRuleRow(calendar_id=connection.id, kind="before", amount=a, unit=u) for a, u in RULES]
        session.add_all(rows)
        session.flush()
        rules[connection.id] = [
            (row.id, timedelta(**{u: a})) for row, (a, u) in zip(rows, RULES, strict=True)
        ]
        rule_ids += [row.id for row in rows]
        session.add(CalendarTemplate(calendar_id=connection.id, language="de", template_id=templates[0].id))
    blocked = [f"+41795{n:06d}" for n in rng.sample(range(1_000_000), 300)]
    entries = [
        BlockedNumber(account_id=account.id, kind="blacklist" if i < 240 else "invalid", number=number,
                      source=("manual", "reply", "gateway")[i % 3], note="bench" if i % 4 else "",
                      created_at=NOW - timedelta(hours=i))
        for i, number in enumerate(blocked)
    ]  # fmt: skip
    session.add_all(entries)
    session.flush()
    return _Account(
        account.id,
        [c.id for c in connections],
        rule_ids,
        rules,
        [t.id for t in templates],
        [p.id for p in people[1:]],
        [e.id for e in entries],
        blocked[:240],
    )


def _bulk_rows(
    account: _Account, count: int, rng: random.Random, ids: Ids
) -> dict[Table, list[dict[str, Any]]]:
    """Appointments from 180 days ago to 60 days ahead, their reminders, send attempts and debits."""
    appointments: list[dict[str, Any]] = []
    reminders: list[dict[str, Any]] = []
    attempts: list[dict[str, Any]] = []
    ledger: list[dict[str, Any]] = []
    balance = 0

    def credit(delta: int, kind: str, at: datetime, reminder_id: int | None = None) -> None:
        nonlocal balance
        balance += delta
        ledger.append(
            dict(id=ids.ledger, account_id=account.id, delta=delta, balance_after=balance, kind=kind,
                 reminder_id=reminder_id, note="", created_at=at)
        )  # fmt: skip
        ids.ledger += 1

    credit(count * 3, "grant", NOW - timedelta(days=200))
    span = timedelta(days=240).total_seconds()
    for i in range(count):
        day = NOW - timedelta(days=180) + timedelta(seconds=span * i / count)
        start = datetime.combine(day.date(), clock_time(7 + i % 10, 15 * (i % 4)), tzinfo=UTC)
        calendar_id = account.calendar_ids[i % len(account.calendar_ids)]
        person = f"{FIRST[i % len(FIRST)]} {LAST[(i // 10) % len(LAST)]}"
        roll = rng.random()
        mobile = f"+417{8 + i % 2}{i % 10_000_000:07d}"
        recipient: str | None = mobile
        reason = source = None
        location = f"0{mobile[3:5]} {mobile[5:8]} {mobile[8:10]} {mobile[10:]}"
        if roll < 0.06:
            recipient, location = None, ("Praxis Raum 2", "044 123 45 67", "079 12")[i % 3]
            reason = (NoRecipientReason.NO_NUMBER, NoRecipientReason.LANDLINE, NoRecipientReason.INVALID)[
                i % 3
            ]
        elif roll < 0.08:
            recipient = account.blocked[i % len(account.blocked)]
            location, source = recipient, "location"
        else:
            source = "location"
        status = "cancelled" if roll > 0.98 else ("removed" if roll > 0.97 else "confirmed")
        all_day = i % 200 == 0
        appointment_id = ids.appointment
        ids.appointment += 1
        seen = start - timedelta(days=20)
        appointments.append(
            dict(id=appointment_id, calendar_id=calendar_id, external_id=f"bench-{account.id}-{i}@calendar",
                 series_id=f"series-{i % 500}" if i % 7 == 0 else None,
                 title=f"{TREATMENTS[i % len(TREATMENTS)]} {person}", location=location,
                 description="Bitte Versicherungskarte mitbringen." if i % 3 == 0 else "",
                 starts_at=start, ends_at=start + timedelta(minutes=45), timezone="Europe/Zurich",
                 all_day=all_day, status=status, recipient=recipient, recipient_reason=reason,
                 recipient_source=source, content_hash=hashlib.sha256(str(i).encode()).hexdigest(),
                 first_seen_at=seen, scheduled_at=seen, updated_at=seen)
        )  # fmt: skip
        for rule_id, offset in account.rules[calendar_id]:
            due = start - offset
            row: dict[str, Any] = dict(
                id=ids.reminder, appointment_id=appointment_id, rule_id=rule_id, for_starts_at=start,
                due_at=due, nominal_at=due, state=ReminderState.SCHEDULED, reason=None, body=None,
                encoding=None, segments=None, attempts=0, lease_owner=None, lease_until=None, sent_at=None,
                created_at=seen, updated_at=due,
            )  # fmt: skip
            ids.reminder += 1
            reminders.append(row)
            if status != "confirmed":
                cancel = (
                    CancelReason.APPOINTMENT_CANCELLED
                    if status == "cancelled"
                    else CancelReason.APPOINTMENT_DELETED
                )
                row.update(state=ReminderState.CANCELLED, reason=cancel, updated_at=start - timedelta(days=2))
            elif all_day:
                row.update(state=ReminderState.SKIPPED, reason=SkipReason.ALL_DAY, due_at=None)
            elif due > NOW:
                continue  # still to go out
            elif recipient is None:
                row.update(state=ReminderState.SKIPPED, reason=SkipReason.NO_RECIPIENT)
            elif recipient in account.blocked:
                row.update(state=ReminderState.SKIPPED, reason=SkipReason.RECIPIENT_BLOCKED)
            elif i % 40 == 0:
                row.update(state=ReminderState.SKIPPED, reason=SkipReason.TOO_LATE, due_at=None)
            else:
                failed = i % 97 == 0
                tries = 2 if failed else 1
                for n in range(1, tries + 1):
                    at = due + timedelta(seconds=2 + 60 * (n - 1))
                    attempts.append(
                        dict(id=ids.attempt, reminder_id=row["id"], account_id=account.id, number=n,
                             idempotency_key=f"bench-{row['id']}-{n}", gateway="console", recipient=recipient,
                             sender="BenchPraxis", body=BODY, encoding="gsm7", segments=1,
                             outcome="failed" if failed else "sent", started_at=at,
                             provider_message_id=None if failed else f"console-{row['id']}",
                             error="rejected by the provider: unknown subscriber" if failed else None,
                             finished_at=at + timedelta(seconds=1))
                    )  # fmt: skip
                    ids.attempt += 1
                    credit(-1, "send", at, row["id"])
                    if failed:
                        credit(1, "refund", at + timedelta(seconds=1), row["id"])
                row.update(
                    state=ReminderState.FAILED if failed else ReminderState.SENT,
                    reason=FailReason.GATEWAY_REJECTED if failed else None,
                    body=BODY, encoding="gsm7", segments=1, attempts=tries,
                    sent_at=None if failed else due + timedelta(seconds=3),
                )  # fmt: skip
    account.balance = balance
    tables = Base.metadata.tables
    return {
        tables[Appointment.__tablename__]: appointments,
        tables[Reminder.__tablename__]: reminders,
        tables[SendAttempt.__tablename__]: attempts,
        tables[CreditEntry.__tablename__]: ledger,
    }


def _pick(engine: Engine, account: _Account, *, past: bool) -> int:
    """An appointment with a number and sent (past) or planned (future) reminders."""
    op, order = ("<", "DESC") if past else (">", "ASC")
    calendars = ", ".join(str(c) for c in account.calendar_ids)
    with engine.connect() as connection:
        found = connection.execute(
            text(
                f"SELECT id FROM appointment WHERE calendar_id IN ({calendars}) "
                f"AND recipient IS NOT NULL AND status = 'confirmed' AND starts_at {op} :now "
                f"ORDER BY starts_at {order} LIMIT 1 OFFSET 20"
            ),
            {"now": NOW},
        ).scalar_one()
    return int(found)


# --- what to request ------------------------------------------------------------------------------


def _needs_sign_in(dependant: Dependant) -> bool:
    return any(
        getattr(d.call, "__name__", "") in ("viewer", "owner") or _needs_sign_in(d)
        for d in dependant.dependencies
    )


def signed_in_get_routes(app: FastAPI) -> list[str]:
    """The paths of the GET routes that need a signed-in user."""
    pairs = endpoints(app)
    return sorted(
        path for path, route in pairs if "GET" in (route.methods or ()) and _needs_sign_in(route.dependant)
    )


def fill(path: str, values: dict[str, list[str]]) -> list[str] | None:
    """The concrete paths of a route, or None when a parameter has no seeded value (an OAuth provider)."""
    paths = [path]
    for name in re.findall(r"\{(\w+)", path):
        if name not in values:
            return None
        paths = [p.replace(f"{{{name}}}", value) for p in paths for value in values[name]]
    return paths


def filters(seeded: Seeded) -> list[str]:
    """List pages with their filters."""
    calendar = seeded.calendar_ids[0]
    week = (NOW - timedelta(days=7)).date().isoformat(), NOW.date().isoformat()
    return [
        "/appointments?problem=no_number",
        "/appointments?when=past",
        f"/appointments?calendar={calendar}",
        "/appointments?q=Muster",
        "/appointments?when=past&q=zzz-no-match",
        "/messages?state=sent",
        "/messages?state=failed",
        "/messages?state=skipped",
        "/messages?state=cancelled",
        f"/messages?calendar={calendar}",
        f"/messages?from={week[0]}&to={week[1]}",
    ]


# --- measuring ------------------------------------------------------------------------------------


@dataclass
class Timing:
    url: str
    status: int
    kilobytes: float
    millis: list[float]

    def quantile(self, q: float) -> float:
        ordered = sorted(self.millis)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def sign_in(client: httpx.Client) -> None:
    found = _CSRF.search(client.get("/login").text)
    assert found, "no CSRF token on /login"
    form = {"email": OWNER, "password": PASSWORD, "csrf": found.group(1)}
    answer = client.post("/login", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.status_code
    assert answer.headers["location"] == "/", answer.headers["location"]


def measure(client: httpx.Client, url: str, *, runs: int, warmup: int) -> Timing:
    millis = []
    response = client.get(url)
    for i in range(warmup + runs):
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{url}: status {response.status_code}\n{response.text[:2000]}")
        if i >= warmup:
            millis.append(elapsed)
    return Timing(url, response.status_code, len(response.content) / 1024, millis)


def second_page(client: httpx.Client, url: str) -> str | None:
    """The link to the next page of a list, if the page has one."""
    path = url.split("?")[0]
    for link in _NEXT.findall(client.get(url).text):
        target = html.unescape(link)
        if target.split("?")[0] == path:
            return target
    return None


def is_download(url: str) -> bool:
    """Pages have no file extension; downloads do (/messages.csv)."""
    return re.search(r"\.\w+$", url.split("?")[0]) is not None


def print_table(title: str, timings: Sequence[Timing], limit: float | None) -> list[Timing]:
    print(f"\n{title}")
    print(f"  {'page':<58} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'KB':>8}")
    slow = []
    for t in timings:
        p95 = t.quantile(0.95)
        flag = "  SLOW" if limit is not None and p95 > limit else ""
        if flag:
            slow.append(t)
        print(
            f"  {t.url[:58]:<58} {statistics.median(t.millis):8.1f} {p95:8.1f} {max(t.millis):8.1f}"
            f" {t.kilobytes:8.0f}{flag}"
        )
    return slow


def pages_to_measure(client: httpx.Client, app: FastAPI, seeded: Seeded) -> Iterator[str]:
    for route in signed_in_get_routes(app):
        yield from fill(route, seeded.values) or []
    yield from filters(seeded)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--appointments", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--download-runs", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_database(args.database_url, Path(tmp))
        settings = Settings(env="test", database_url=url, data_dir=Path(tmp))
        services = build_services(settings, gateway=ConsoleGateway(quiet=True))
        try:
            started = time.perf_counter()
            with services.factory() as session:
                seeded = seed(services.engine, session, args.appointments)
            rows = ", ".join(f"{n:,} {table}" for table, n in seeded.counts.items())
            print(f"database: {url.split('://')[0]}; seeded in {time.perf_counter() - started:.1f} s: {rows}")
            app = create_app(services)
            with (
                live_server(app) as base,
                httpx.Client(base_url=base, timeout=120, follow_redirects=True) as client,
            ):
                sign_in(client)
                urls = list(dict.fromkeys(pages_to_measure(client, app, seeded)))
                nexts = [second_page(client, u) for u in urls if not is_download(u)]
                urls += [u for u in dict.fromkeys(nexts) if u and u not in urls]
                pages, downloads = [], []
                for page in urls:
                    if is_download(page):
                        downloads.append(measure(client, page, runs=args.download_runs, warmup=0))
                    else:
                        pages.append(measure(client, page, runs=args.runs, warmup=args.warmup))
        finally:
            services.close()
    print(f"\n{args.runs} requests per page after {args.warmup} warm-ups; limit: p95 <= {LIMIT_MS:.0f} ms")
    slow = print_table("pages", pages, LIMIT_MS)
    print_table(f"downloads ({args.download_runs} requests each, no limit)", downloads, None)
    if slow:
        print(f"\n{len(slow)} page(s) over {LIMIT_MS:.0f} ms at p95: " + ", ".join(t.url for t in slow))
        sys.exit(1)


if __name__ == "__main__":
    main()
