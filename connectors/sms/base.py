"""The port every SMS gateway implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OutgoingSms:
    """A message ready for the wire: E.164 recipient, sender name, GSM-normalised body."""

    to: str
    sender: str
    body: str
    idempotency_key: str
    segments: int = 1


@dataclass(frozen=True, slots=True)
class SentSms:
    """The gateway accepted the message."""

    provider_message_id: str
    gateway: str


class SendError(Exception):
    """The gateway did not accept the message.

    `permanent` errors (invalid number, rejected sender) will fail again; transient ones
    (timeouts, 5xx, throttling) may be retried.
    """

    def __init__(self, message: str, *, permanent: bool, provider_code: str | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.provider_code = provider_code


class OutcomeUnknown(Exception):
    """The gateway cannot say whether a message with this idempotency key went out."""


class SmsGateway(Protocol):
    """Sends SMS. Implementations must be safe to call from several threads."""

    name: str

    def send(self, sms: OutgoingSms) -> SentSms:
        """Send one message or raise `SendError`."""
        ...

    def lookup(self, idempotency_key: str) -> SentSms | None:
        """The message sent under this key; None if surely none was; `OutcomeUnknown` if it cannot tell."""
        ...
