"""How long one big calendar's sync holds the write lock, and what another tenant feels meanwhile.

    python -m bench.lock_hold [--events 100000] [--database-url URL] [--json PATH]

A first sync of an ICS feed with `--events` appointments (two rules, so twice as many reminders)
runs through `sync_one`, the path the scheduler takes. Every write transaction of the process is
timed from its BEGIN (on SQLite, `BEGIN IMMEDIATE`: the write lock) to its COMMIT, and a second
thread, standing in for another tenant, writes one row every 50 ms and records how long each of
its transactions took, waiting for the lock included. Without --database-url a fresh SQLite file
in a temporary directory is used.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, update

from bench.run import NOW, fresh_database, setup_account
from connectors.sms.console import ConsoleGateway
from reminders.bootstrap import build_services
from reminders.calendars.service import sync_one
from reminders.db import READ_ONLY_OPTION
from reminders.models import Account
from reminders.settings import Settings
from tests.support.feeds import lean_feed

PROBE_INTERVAL = 0.05
PROBE_THREAD = "other-tenant"


@dataclass
class Figures:
    """What one run measured (seconds)."""

    events: int
    database: str
    feed_megabytes: float = 0.0
    sync_seconds: float = 0.0
    created: int = 0
    error: str | None = None
    write_transactions: int = 0
    longest_write_transaction: float = 0.0
    write_transaction_p99: float = 0.0
    probe_writes: int = 0
    probe_p50: float = 0.0
    probe_p99: float = 0.0
    probe_max: float = 0.0
    probe_failures: int = 0
    transactions: list[float] = field(default_factory=list, repr=False)


class WriteTimer:
    """Times every write transaction on an engine, BEGIN to COMMIT or ROLLBACK."""

    def __init__(self, engine: Engine) -> None:
        self.durations: list[float] = []
        self._started: dict[int, float] = {}
        self._lock = threading.Lock()
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._end)
        event.listen(engine, "rollback", self._end)

    def _begin(self, conn: Any) -> None:
        if threading.current_thread().name == PROBE_THREAD:
            return  # the other tenant's writes are measured by the probe itself
        if not conn.get_execution_options().get(READ_ONLY_OPTION):
            self._started[id(conn)] = time.perf_counter()

    def _end(self, conn: Any) -> None:
        started = self._started.pop(id(conn), None)
        if started is not None:
            with self._lock:
                self.durations.append(time.perf_counter() - started)


def probe(
    factory: Any, account_id: int, stop: threading.Event, latencies: list[float], failures: list[str]
) -> None:
    """Another tenant: one small write every PROBE_INTERVAL, timed."""
    n = 0
    while not stop.is_set():
        started = time.perf_counter()
        try:
            with factory.begin() as session:
                session.execute(update(Account).where(Account.id == account_id).values(name=f"Other {n}"))
        except Exception as exc:  # "database is locked" is what tenants saw before
            failures.append(type(exc).__name__)
        latencies.append(time.perf_counter() - started)
        n += 1
        stop.wait(PROBE_INTERVAL)


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of `values` lie (0 for none)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0.0


def run(events: int, database_url: str | None, workdir: Path) -> Figures:
    """One measured first sync of an `events`-event feed."""
    url = fresh_database(database_url, workdir)
    settings = Settings(env="test", database_url=url, data_dir=workdir, sync_max_events=max(events, 100_000))
    services = build_services(settings, gateway=ConsoleGateway(quiet=True))
    figures = Figures(events=events, database="PostgreSQL" if "postgresql" in url else "SQLite")
    try:
        feed = workdir / "big.ics"
        feed.write_text(lean_feed(events, NOW), encoding="utf-8", newline="")
        figures.feed_megabytes = round(feed.stat().st_size / 1e6, 1)
        calendar_id = setup_account(services, feed, credit_amount=1)
        with services.factory.begin() as session:
            other = Account(name="Other tenant")
            session.add(other)
            session.flush()
            other_id = other.id
        timer = WriteTimer(services.engine)
        stop, latencies, failures = threading.Event(), list[float](), list[str]()
        prober = threading.Thread(
            target=probe, args=(services.factory, other_id, stop, latencies, failures), name=PROBE_THREAD
        )
        prober.start()
        started = time.perf_counter()
        report = sync_one(services, calendar_id)
        figures.sync_seconds = time.perf_counter() - started
        stop.set()
        prober.join()
        figures.created, figures.error = report.created, report.error
        own = list(timer.durations)
        figures.transactions = own
        figures.write_transactions = len(own)
        figures.longest_write_transaction = max(own, default=0.0)
        figures.write_transaction_p99 = percentile(own, 0.99)
        figures.probe_writes = len(latencies)
        figures.probe_p50 = percentile(latencies, 0.5)
        figures.probe_p99 = percentile(latencies, 0.99)
        figures.probe_max = max(latencies, default=0.0)
        figures.probe_failures = len(failures)
    finally:
        services.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = run(args.events, args.database_url, Path(tmp))
    print(f"first sync of {figures.events:,} events ({figures.feed_megabytes} MB) on {figures.database}")
    print(
        f"  sync time                          {figures.sync_seconds:9.2f} s  (created {figures.created:,})"
    )
    if figures.error:
        print(f"  error: {figures.error}")
    print(f"  write transactions                 {figures.write_transactions:9d}")
    print(f"  longest write transaction          {figures.longest_write_transaction:9.3f} s")
    print(f"  write transaction p99              {figures.write_transaction_p99:9.3f} s")
    print(
        f"  other tenant's writes              {figures.probe_writes:9d}  ({figures.probe_failures} failed)"
    )
    print(
        f"  other tenant's write time p50/p99/max {figures.probe_p50:.3f} / {figures.probe_p99:.3f} / "
        f"{figures.probe_max:.3f} s"
    )
    if args.json:
        data = asdict(figures)
        data.pop("transactions")
        args.json.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
