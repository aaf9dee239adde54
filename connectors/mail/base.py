"""What the service hands to a mailer, and how a mailer says it failed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """A plain-text e-mail to one recipient."""

    to: str
    subject: str
    body: str


class MailError(Exception):
    """The mail could not be handed over; the message says why in words."""


class Mailer(Protocol):
    """Delivers e-mail; `send` raises `MailError` when the mail was not accepted."""

    def send(self, mail: OutgoingMail) -> None: ...
