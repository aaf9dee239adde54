"""Settings from `REMINDERS_*` environment variables, with development defaults.

Development defaults (a known secret key, an http public URL) are refused when
`REMINDERS_ENV=production`, so a forgotten variable cannot reach a real deployment.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"


class Settings(BaseSettings):
    """Everything configurable; every external endpoint can point at a local emulator."""

    model_config = SettingsConfigDict(env_prefix="REMINDERS_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./reminders.db"
    public_url: str = "http://127.0.0.1:8000"
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    # Comma-separated keys that older data may still be encrypted with (key rotation).
    previous_secret_keys: SecretStr = SecretStr("")
    data_dir: Path = Path("./var")
    log_level: str = "INFO"

    # Planning and sync
    planning_horizon_days: int = Field(60, ge=1, le=400)
    sync_interval_seconds: int = Field(300, ge=10)
    sync_timeout_seconds: float = Field(20.0, gt=0)
    # Calendars synced side by side by one worker, so a slow one never holds up the others.
    sync_threads: int = Field(4, ge=1, le=64)
    # A calendar with more events than this in the sync window is refused with a clear error.
    sync_max_events: int = Field(50_000, ge=100)
    # Appointments written per transaction: keeps SQLite's write lock short for everyone else.
    sync_batch_size: int = Field(200, ge=10, le=10_000)
    # A snapshot dropping most upcoming appointments is applied only after this many syncs...
    sync_drop_confirmations: int = Field(3, ge=1, le=100)
    # ...spanning at least this many minutes (or when the owner confirms it).
    sync_drop_hold_minutes: int = Field(10, ge=0)
    # ICS feeds are parsed in a child process, killed after this long or above this memory.
    ics_parse_deadline_seconds: float = Field(60.0, gt=0)
    ics_parse_memory_mb: int = Field(2048, ge=0)  # 0: no limit

    # Dispatch
    dispatch_batch_size: int = Field(200, ge=1, le=10_000)
    dispatch_threads: int = Field(4, ge=1, le=64)
    dispatch_lease_seconds: int = Field(120, ge=10)
    dispatch_max_attempts: int = Field(3, ge=1, le=10)
    dispatch_retry_seconds: int = Field(60, ge=1)

    # SMS gateway
    sms_provider: Literal["console", "twilio", "http"] = "console"
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("")
    twilio_from: str = ""
    twilio_api_url: str = "https://api.twilio.com"

    # Calendar providers (used by the Google and Microsoft connectors)
    google_client_id: str = ""
    google_client_secret: SecretStr = SecretStr("")
    google_auth_url: str = "https://accounts.google.com/o/oauth2/auth"
    google_token_url: str = "https://oauth2.googleapis.com/token"
    google_api_url: str = "https://www.googleapis.com/calendar/v3/"
    google_revoke_url: str = "https://oauth2.googleapis.com/revoke"
    google_channel_ttl_seconds: int = Field(7 * 24 * 3600, ge=300)
    microsoft_client_id: str = ""
    microsoft_client_secret: SecretStr = SecretStr("")
    microsoft_authority: str = "https://login.microsoftonline.com/common"
    microsoft_graph_url: str = "https://graph.microsoft.com/v1.0"
    microsoft_ca_bundle: str = ""
    # Graph caps event subscriptions (4,230 minutes in the docs read; some sources say 10,080).
    microsoft_subscription_minutes: int = Field(4230, ge=45, le=10080)

    # E-mail alerts
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = "reminders@localhost"
    # "tls" = SMTPS from the first byte, "starttls" = upgrade a plain connection, "none" = loopback only.
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_timeout_seconds: float = Field(15.0, gt=0)

    # Accounts and sign-in
    signup_enabled: bool = True
    signup_free_sms: int = Field(10, ge=0)
    # Where failed sign-ins are counted: memory:// (one process) or redis://host:port (many).
    rate_limit_storage: str = "memory://"
    # Failed sign-ins allowed per 15 minutes: per address from devices that never signed in to it,
    # per client IP (an office shares one), and per known device (its own count, which nobody
    # without that browser's cookie can use up: the owner is never locked out by others' guesses).
    login_attempts_per_15_minutes: int = Field(10, ge=1)
    login_attempts_per_ip_per_15_minutes: int = Field(50, ge=1)
    login_attempts_per_known_device_per_15_minutes: int = Field(10, ge=1)
    # How long a browser stays "known" after its last sign-in.
    known_device_days: int = Field(365, ge=1, le=730)
    # How long a sign-in lasts; the session row on the server expires with it.
    session_days: int = Field(14, ge=1, le=90)
    # ICS feed URLs from tenants may point at loopback/private addresses (one salon on its own LAN).
    ics_allow_private_networks: bool = False
    # Each ICS fetch (every redirect and the whole body) ends after this long: slow drips included.
    ics_fetch_deadline_seconds: float = Field(60.0, gt=0)

    @model_validator(mode="after")
    def _refuse_dev_defaults_in_production(self) -> Settings:
        if self.env != "production":
            return self
        problems = []
        key = self.secret_key.get_secret_value()
        if key == DEV_SECRET_KEY or len(key) < 32:
            problems.append("REMINDERS_SECRET_KEY must be set to a random value of at least 32 characters")
        if not self.public_url.startswith("https://"):
            problems.append("REMINDERS_PUBLIC_URL must be an https:// URL")
        if problems:
            raise ValueError("Refusing development defaults in production: " + "; ".join(problems))
        return self

    @property
    def previous_keys(self) -> list[str]:
        """The previous secret keys, newest first."""
        return [k.strip() for k in self.previous_secret_keys.get_secret_value().split(",") if k.strip()]

    @property
    def is_sqlite(self) -> bool:
        """True when the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
