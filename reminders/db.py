"""Engine and session set-up for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with foreign keys on, and every transaction starts with
`BEGIN IMMEDIATE` so that the claim of due reminders is as atomic as PostgreSQL's
`FOR UPDATE SKIP LOCKED` and writers never hit a lock-upgrade deadlock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC timestamp on every engine.

    PostgreSQL stores `timestamptz`; SQLite has no time zones, so values are stored as naive
    UTC and made aware again when read. Naive input is a programming error and is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given where an aware one is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`, configured for the service's concurrency model."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    # JIT compilation pays off for long analytical queries; for page and dispatch queries over
    # many rows it only adds 15-20 ms of compile time to each.
    kwargs.setdefault("connect_args", {"options": "-c jit=off"})
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(url, **kwargs)


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    if url in ("sqlite://", "sqlite:///:memory:"):
        raise ValueError("an in-memory SQLite database cannot be shared between threads; use a file")
    # Pooled connections are used by one thread at a time, so sharing them across threads is safe.
    kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
    kwargs.setdefault("pool_size", 8)
    kwargs.setdefault("max_overflow", 16)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's BEGIN (below) control transactions instead of the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    gate = WriteGate()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Read-only work (pages) takes no write lock, so it never waits for a writer in WAL mode.
        if conn.get_execution_options().get(READ_ONLY_OPTION):
            conn.exec_driver_sql("BEGIN")
            return
        held = gate.enter()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            gate.leave(held)
            raise
        conn.info[_GATE_HELD] = held

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(conn: Any) -> None:
        gate.leave(conn.info.pop(_GATE_HELD, None))

    return engine


_GATE_HELD = "reminders_write_gate_ticket"


class WriteGate:
    """First come, first served for this process's SQLite writers.

    SQLite lets one writer in at a time, and a writer that finds the lock taken sleeps in the
    busy handler and retries (1, 2, 5 ... 100 ms). A long job that commits a batch and at once
    begins the next one wins nearly every time, so a page's one-row write could wait behind the
    whole job. Writers of the process take a ticket here before `BEGIN IMMEDIATE` and go in
    turn, so nobody waits for more than the transactions queued before them. (Other processes
    still meet SQLite's own lock; the embedded mode is one process.)
    """

    def __init__(self, timeout: float = 30.0) -> None:
        self._cond = threading.Condition()
        self._next = 0
        self._serving = 0
        self._abandoned: set[int] = set()
        self._owner: int | None = None
        self._timeout = timeout

    def enter(self) -> int | None:
        """Wait for this thread's turn; the ticket to `leave` with (None: the thread already writes)."""
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                return None  # a second connection of the same thread: SQLite's own lock decides
            ticket = self._next
            self._next += 1
            if not self._cond.wait_for(lambda: self._serving == ticket, timeout=self._timeout):
                self._abandoned.add(ticket)  # fall back to SQLite's busy timeout
                return None
            self._owner = me
            return ticket

    def leave(self, ticket: int | None) -> None:
        """Let the next writer in."""
        if ticket is None:
            return
        with self._cond:
            self._owner = None
            self._serving = ticket + 1
            while self._serving in self._abandoned:
                self._abandoned.discard(self._serving)
                self._serving += 1
            self._cond.notify_all()


READ_ONLY_OPTION = "reminders_read_only"


def make_read_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reads only: on SQLite they start a deferred transaction (no write lock)."""
    return sessionmaker(engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False)


def reader_for(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """Read-only sessions on the same engine as `factory`."""
    bind = factory.kw["bind"]
    engine = bind if isinstance(bind, Engine) else bind.engine
    return make_read_sessionmaker(engine)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (services return them)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory.begin() as session:
        yield session
