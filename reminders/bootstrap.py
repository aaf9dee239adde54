"""The one place that picks concrete connectors and wires the service together."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from connectors.calendars.base import CalendarSource
from connectors.calendars.feed_http import feed_client
from connectors.calendars.google import GoogleCalendarSource, GoogleClient, GoogleEndpoints, GoogleToken
from connectors.calendars.ics import IcsCalendarSource
from connectors.calendars.ics_isolation import IsolatedIcsParser
from connectors.calendars.microsoft import MicrosoftApp, MicrosoftCalendarSource, TokenCacheState
from connectors.mail import ConsoleMailer, Mailer, SmtpEndpoint, SmtpMailer
from connectors.sms.base import SmsGateway
from connectors.sms.console import ConsoleGateway
from reminders.calendars.grants import save_refreshed_token, token_of
from reminders.db import make_engine, make_read_sessionmaker, make_sessionmaker, utcnow
from reminders.dispatch.service import Dispatcher, DispatchPolicy
from reminders.models import Account, CalendarConnection, OAuthGrant
from reminders.security.log_redaction import install_log_redaction
from reminders.security.secrets import Signer, TokenCipher
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
    # For URLs tenants type in (ICS feeds): never into a private network unless settings allow it.
    feed_http: httpx.Client
    # Parses ICS feeds in child processes: side by side, each with a deadline and a memory cap.
    ics_parser: IsolatedIcsParser
    clock: Clock = utcnow
    mailer: Mailer = field(default_factory=ConsoleMailer)
    # Set by the in-process scheduler so a push notification can bring the next sync forward.
    wake_sync: Callable[[datetime], None] | None = None
    # How connectors wait between retries (tests record the waits instead of sleeping).
    sleep: Callable[[float], None] = time.sleep
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    @cached_property
    def reader(self) -> sessionmaker[Session]:
        """Sessions for read-only work such as pages (no write lock on SQLite)."""
        return make_read_sessionmaker(self.engine)

    @cached_property
    def cipher(self) -> TokenCipher:
        """Encrypts OAuth tokens at rest."""
        s = self.settings
        return TokenCipher(s.secret_key.get_secret_value(), s.previous_keys)

    @cached_property
    def signer(self) -> Signer:
        """Signs values that travel through browsers (OAuth state, session ids)."""
        return Signer(self.settings.secret_key.get_secret_value())

    @property
    def google_endpoints(self) -> GoogleEndpoints:
        """Google's endpoints, or an emulator's."""
        s = self.settings
        return GoogleEndpoints(
            auth_url=s.google_auth_url,
            token_url=s.google_token_url,
            revoke_url=s.google_revoke_url,
            api_url=s.google_api_url,
        )

    @property
    def google_client(self) -> GoogleClient:
        """This installation's OAuth client at Google."""
        s = self.settings
        return GoogleClient(
            client_id=s.google_client_id,
            client_secret=s.google_client_secret.get_secret_value(),
            redirect_uri=s.public_url.rstrip("/") + "/oauth/google/callback",
        )

    def google_source(
        self, calendar_id: str, grant: OAuthGrant, default_timezone: str
    ) -> GoogleCalendarSource:
        """A Google calendar read with a grant's token; refreshed tokens are saved back (encrypted)."""
        grant_id = grant.id

        def save(token: GoogleToken) -> None:
            save_refreshed_token(self.factory, self.cipher, grant_id, token.to_json(), now=self.clock())

        return GoogleCalendarSource(
            calendar_id,
            GoogleToken.from_json(token_of(self.cipher, grant)),
            client=self.google_client,
            endpoints=self.google_endpoints,
            default_timezone=default_timezone,
            on_token_refreshed=save,
            timeout=self.settings.sync_timeout_seconds,
            sleep=self.sleep,
        )

    @property
    def microsoft_app(self) -> MicrosoftApp:
        """This installation's OAuth client at Microsoft (or an emulator)."""
        s = self.settings
        return MicrosoftApp(
            client_id=s.microsoft_client_id,
            client_secret=s.microsoft_client_secret.get_secret_value(),
            authority=s.microsoft_authority,
            redirect_uri=s.public_url.rstrip("/") + "/oauth/microsoft/callback",
            ca_bundle=s.microsoft_ca_bundle or None,
        )

    def microsoft_source(
        self, calendar_id: str, grant: OAuthGrant, default_timezone: str
    ) -> MicrosoftCalendarSource:
        """An Outlook calendar read with a grant's token cache; a changed cache is saved back (encrypted)."""
        grant_id = grant.id

        def save(state: TokenCacheState) -> None:
            save_refreshed_token(self.factory, self.cipher, grant_id, state.to_json(), now=self.clock())

        return MicrosoftCalendarSource(
            calendar_id,
            TokenCacheState.from_json(token_of(self.cipher, grant)),
            app=self.microsoft_app,
            graph_url=self.settings.microsoft_graph_url,
            default_timezone=default_timezone,
            on_cache_changed=save,
            timeout=self.settings.sync_timeout_seconds,
            sleep=self.sleep,
        )

    def calendar_source(
        self, connection: CalendarConnection, account: Account, grant: OAuthGrant | None = None
    ) -> CalendarSource:
        """The connector that reads this calendar."""
        zone = connection.timezone or account.timezone
        if connection.provider == "ics":
            return IcsCalendarSource(
                connection.external_id,
                http=self.feed_http,
                default_timezone=zone,
                fetch_deadline_seconds=self.settings.ics_fetch_deadline_seconds,
                parser=self.ics_parser,
            )
        if connection.provider == "google" and grant is not None:
            return self.google_source(connection.external_id, grant, zone)
        if connection.provider == "microsoft" and grant is not None:
            return self.microsoft_source(connection.external_id, grant, zone)
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
        self.feed_http.close()
        self.ics_parser.close()
        self.engine.dispose()


def build_gateway(settings: Settings) -> SmsGateway:
    """The SMS gateway the settings ask for."""
    if settings.sms_provider == "console":
        return ConsoleGateway()
    raise UnsupportedProvider(f"The SMS provider {settings.sms_provider!r} is not available in this version.")


def build_mailer(settings: Settings) -> Mailer:
    """SMTP when a relay is configured, else the console (development)."""
    if not settings.smtp_host:
        # Links in mails are secrets: printed for a developer, never into a production log.
        return ConsoleMailer(show_mail=settings.env != "production")
    return SmtpMailer(
        SmtpEndpoint(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            security=settings.smtp_security,
            username=settings.smtp_user,
            password=settings.smtp_password.get_secret_value(),
            timeout=settings.smtp_timeout_seconds,
        )
    )


def build_services(
    settings: Settings,
    *,
    gateway: SmsGateway | None = None,
    clock: Clock = utcnow,
    mailer: Mailer | None = None,
) -> Services:
    """Wire the service from settings; tests pass their own gateway or clock."""
    install_log_redaction()  # before anything can log a URL
    engine = make_engine(settings.database_url)
    timeout = httpx.Timeout(settings.sync_timeout_seconds, connect=5.0)
    headers = {"User-Agent": "reminders/0.1"}
    http = httpx.Client(timeout=timeout, follow_redirects=True, headers=headers)
    feed_http = feed_client(
        allow_private=settings.ics_allow_private_networks, timeout=timeout, headers=headers
    )
    return Services(
        settings=settings,
        engine=engine,
        factory=make_sessionmaker(engine),
        gateway=gateway or build_gateway(settings),
        http=http,
        feed_http=feed_http,
        ics_parser=IsolatedIcsParser(
            deadline_seconds=settings.ics_parse_deadline_seconds,
            memory_limit_mb=settings.ics_parse_memory_mb or None,
        ),
        clock=clock,
        mailer=mailer or build_mailer(settings),
    )
