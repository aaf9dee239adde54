"""A local SMTP relay (aiosmtpd) that keeps what it receives; STARTTLS with a trustme test CA."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.server import free_port


@dataclass(frozen=True, slots=True)
class ReceivedMail:
    """One mail as the relay received it."""

    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())


class _Keep:
    def __init__(self) -> None:
        self.received: list[ReceivedMail] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 OK"


class SmtpRelay:
    """`with SmtpRelay(starttls=True) as relay:` then send to relay.port and read relay.received."""

    def __init__(self, *, starttls: bool = False) -> None:
        self._handler = _Keep()
        self.port = free_port()
        self._ca = trustme.CA()
        kwargs: dict[str, Any] = {}
        if starttls:
            server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
            kwargs = {"tls_context": server_context, "require_starttls": True}
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port, **kwargs)

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts the relay's test certificate."""
        context = ssl.create_default_context()
        self._ca.configure_trust(context)
        return context

    @property
    def received(self) -> list[ReceivedMail]:
        return list(self._handler.received)

    def __enter__(self) -> SmtpRelay:
        self._controller.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._controller.stop()
