"""Parse ICS feeds in child processes, so that parses never wait for each other.

`parse_ics` holds a process-wide lock (icalendar's VTIMEZONE cache, its TZID lookup and the
warnings filters are process-global), so in one process a feed that takes 40 s to expand holds up
every other calendar's parse. `IsolatedIcsParser` runs each parse in a child process of its own:
parses run side by side, no feed's global state reaches another, and a parse that passes its
deadline or its memory cap is killed without harming anything else.

Children come from multiprocessing's "forkserver": a server process started once by exec (so it
is safe to start from our threaded process, unlike "fork", which could copy a lock that another
thread holds), with the parse modules imported, forks one child per parse in milliseconds; "spawn"
would import icalendar again for every feed.
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any, Protocol

from connectors.calendars.base import CalendarFeedInvalid, CalendarUnavailable, RemoteEvent
from connectors.calendars.ics_errors import ParseOutOfMemory
from connectors.calendars.ics_parse import check_parse_arguments, parse_ics

log = logging.getLogger(__name__)

# This module imports everything a parse needs. "__main__" is multiprocessing's default: with it
# preloaded, each child need not import the main script again (like any program that starts
# processes, a script must guard its top-level code with `if __name__ == "__main__":`).
_PRELOAD = ["__main__", __name__]
_SHUTTING_DOWN = (
    "The calendar could not be read because the service is shutting down; it is read again later."
)
_STOPPED = (
    "The calendar feed could not be read: the process reading it was stopped "
    "(perhaps it needed too much memory)."
)
_ENDED = "The calendar feed could not be read: the process reading it stopped unexpectedly."
_NO_CHILD = (
    "The calendar could not be read because the server could not start a reader; it is read again later."
)
_REAP_SECONDS = 10.0

ParseResult = tuple[list[RemoteEvent], list[str]]


class IcsParser(Protocol):
    """Anything called like `parse_ics` (which is one, as is `IsolatedIcsParser`)."""

    def __call__(
        self,
        data: bytes,
        *,
        window_start: datetime,
        window_end: datetime,
        default_timezone: str,
        max_instances_per_series: int = 1000,
        max_events: int = 200_000,
    ) -> ParseResult: ...


@dataclass(frozen=True, slots=True)
class _Request:
    data: bytes
    window_start: datetime
    window_end: datetime
    default_timezone: str
    max_instances_per_series: int
    max_events: int
    memory_limit_bytes: int | None


class IsolatedIcsParser:
    """`parse_ics` in a child process per call, with a wall-clock deadline and a memory cap.

    Safe to call from many threads at once; each call has its own child. The caller gets exactly
    what `parse_ics` would return or raise, and `CalendarFeedInvalid` with a sentence for the
    owner when the child passes `deadline_seconds`, runs out of `memory_limit_mb` (None: no cap)
    or dies. `close()` kills the children still running and refuses further calls; the fork
    server itself is shared by the whole process and ends with it.
    """

    def __init__(self, *, deadline_seconds: float = 60.0, memory_limit_mb: int | None = None) -> None:
        if deadline_seconds <= 0:
            raise ValueError("the deadline must be positive")
        if memory_limit_mb is not None and memory_limit_mb <= 0:
            raise ValueError("the memory limit must be positive (or None for no limit)")
        self._deadline = deadline_seconds
        self._memory_limit_mb = memory_limit_mb
        self._context = multiprocessing.get_context("forkserver")
        # Takes effect when the fork server starts (on the first parse of the process).
        self._context.set_forkserver_preload(_PRELOAD)
        self._lock = threading.Lock()
        self._running: set[BaseProcess] = set()
        self._closed = False

    def __call__(
        self,
        data: bytes,
        *,
        window_start: datetime,
        window_end: datetime,
        default_timezone: str,
        max_instances_per_series: int = 1000,
        max_events: int = 200_000,
    ) -> ParseResult:
        """Parse `data` like `parse_ics`, in a child process (see the class)."""
        check_parse_arguments(window_start, window_end, default_timezone)  # its ValueErrors, at once
        with self._lock:
            if self._closed:
                raise CalendarUnavailable(_SHUTTING_DOWN)
        limit = None if self._memory_limit_mb is None else self._memory_limit_mb * 1024 * 1024
        request = _Request(
            data, window_start, window_end, default_timezone, max_instances_per_series, max_events, limit
        )
        reader, writer = self._context.Pipe(duplex=False)
        child = self._context.Process(target=_parse_in_child, args=(writer, request), name="ics-parse")
        child.daemon = True  # multiprocessing ends it if this process exits first
        try:
            self._start(child)
            writer.close()  # the child has its own copy; ours would keep the pipe from ever ending
            return self._outcome(child, reader)
        finally:
            writer.close()
            reader.close()
            self._reap(child)

    def close(self) -> None:
        """Kill the parses still running (their callers get CalendarUnavailable) and refuse new ones."""
        with self._lock:
            self._closed = True
            running = list(self._running)
        for child in running:
            with suppress(ValueError, OSError):  # already ended
                child.kill()

    def __enter__(self) -> IsolatedIcsParser:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # --- one child ------------------------------------------------------------------------------

    def _start(self, child: BaseProcess) -> None:
        try:
            child.start()
        except OSError as exc:  # out of processes or file descriptors: the server's trouble, not the feed's
            log.exception("ics.parse.child_not_started")
            raise CalendarUnavailable(_NO_CHILD) from exc
        with self._lock:
            self._running.add(child)
            closed = self._closed
        if closed:  # close() ran while this child started, and could not see it
            child.kill()

    def _outcome(self, child: BaseProcess, reader: Connection) -> ParseResult:
        deadline = time.monotonic() + self._deadline
        while not wait([reader, child.sentinel], timeout=max(0.0, deadline - time.monotonic())):
            if time.monotonic() >= deadline:
                child.kill()
                log.info("ics.parse.deadline seconds=%g", self._deadline)
                raise CalendarFeedInvalid(
                    f"The calendar feed is too complex to read: it took longer than {self._deadline:g} s."
                )
        try:
            message: tuple[Any, ...] | None = reader.recv() if reader.poll() else None
        except (EOFError, OSError):  # the child ended without a word
            message = None
        if message is not None:
            return self._result(message)
        with self._lock:
            closed = self._closed
        if closed:
            raise CalendarUnavailable(_SHUTTING_DOWN)
        child.join(_REAP_SECONDS)
        log.warning("ics.parse.child_ended exitcode=%s", child.exitcode)
        raise CalendarFeedInvalid(_STOPPED if (child.exitcode or 0) < 0 else _ENDED)

    def _result(self, message: tuple[Any, ...]) -> ParseResult:
        kind = message[0]
        if kind == "parsed":
            events: list[RemoteEvent] = message[1]
            warnings: list[str] = message[2]
            return events, warnings
        if kind == "memory":
            raise ParseOutOfMemory(
                f"The calendar feed is too large to read: it needs more than {self._memory_limit_mb:,} MB "
                "of memory."
                if self._memory_limit_mb is not None
                else message[1]
            )
        if kind == "value":
            raise ValueError(message[1])
        raise CalendarFeedInvalid(message[1])

    def _reap(self, child: BaseProcess) -> None:
        with self._lock:
            self._running.discard(child)
        if child.pid is None:
            return  # never started
        if child.exitcode is None:
            child.join(_REAP_SECONDS)  # it ends right after sending its answer
        if child.exitcode is None:
            child.kill()
            child.join(_REAP_SECONDS)
        with suppress(ValueError):  # still running after a SIGKILL: leave it to multiprocessing
            child.close()


def _parse_in_child(writer: Connection, request: _Request) -> None:
    """The child's work: cap its memory, parse, send the outcome back as plain data."""
    if request.memory_limit_bytes is not None:
        resource.setrlimit(resource.RLIMIT_AS, (request.memory_limit_bytes, request.memory_limit_bytes))
    outcome: tuple[Any, ...]
    try:
        events, warnings = parse_ics(
            request.data,
            window_start=request.window_start,
            window_end=request.window_end,
            default_timezone=request.default_timezone,
            max_instances_per_series=request.max_instances_per_series,
            max_events=request.max_events,
        )
        outcome = ("parsed", events, warnings)
    except ParseOutOfMemory as exc:
        outcome = ("memory", str(exc))
    except CalendarFeedInvalid as exc:
        outcome = ("invalid", str(exc))
    except ValueError as exc:
        outcome = ("value", str(exc))
    try:
        writer.send(outcome)
    except MemoryError:  # pickling a huge result under the cap: say so in a few bytes
        del outcome
        writer.send(("memory", "The calendar feed is too large to read."))
    finally:
        writer.close()
