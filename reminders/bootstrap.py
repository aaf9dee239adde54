"""The one place that picks concrete connectors and wires the service together."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from connectors.calendars.base import CalendarSource
from connectors.calendars.ics import IcsCalendarSource
from connectors.sms.base import SmsGateway
from connectors.sms.console import ConsoleGateway
from reminders.db import make_engine, make_sessionmaker, utcnow
from reminders.dispatch.service import Dispatcher, DispatchPolicy
from reminders.models import Account, CalendarConnection
from reminders.settings import Settings

Clock = Callable[[], datetime]


class UnsupportedProvider(Exception):
    """A calendar's provider has no connector in this version."""


@dataclass
class Services:
    """Everything a process needs, built once: database, gateway, connectors, clock."""

    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    gateway: SmsGateway
    http: httpx.Client
    clock: Clock = utcnow
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    def calendar_source(self, connection: CalendarConnection, account: Account) -> CalendarSource:
        """The connector that reads this calendar."""
        if connection.provider == "ics":
            return IcsCalendarSource(
                connection.external_id,
                http=self.http,
                default_timezone=connection.timezone or account.timezone,
            )
        raise UnsupportedProvider(f"Calendars of type {connection.provider!r} are not supported yet.")

    def dispatcher(self) -> Dispatcher:
        """A dispatcher for this process."""
        s = self.settings
        policy = DispatchPolicy(
            lease=timedelta(seconds=s.dispatch_lease_seconds),
            max_attempts=s.dispatch_max_attempts,
            retry_after=timedelta(seconds=s.dispatch_retry_seconds),
            batch_size=s.dispatch_batch_size,
        )
        return Dispatcher(self.factory, self.gateway, owner=self.worker_id, clock=self.clock, policy=policy)

    def close(self) -> None:
        """Release connections and sockets."""
        self.http.close()
        self.engine.dispose()


def build_gateway(settings: Settings) -> SmsGateway:
    """The SMS gateway the settings ask for."""
    if settings.sms_provider == "console":
        return ConsoleGateway()
    raise UnsupportedProvider(f"The SMS provider {settings.sms_provider!r} is not available in this version.")


def build_services(
    settings: Settings, *, gateway: SmsGateway | None = None, clock: Clock = utcnow
) -> Services:
    """Wire the service from settings; tests pass their own gateway or clock."""
    engine = make_engine(settings.database_url)
    timeout = httpx.Timeout(settings.sync_timeout_seconds, connect=5.0)
    http = httpx.Client(timeout=timeout, follow_redirects=True, headers={"User-Agent": "reminders/0.1"})
    return Services(
        settings=settings,
        engine=engine,
        factory=make_sessionmaker(engine),
        gateway=gateway or build_gateway(settings),
        http=http,
        clock=clock,
    )
