"""SMTP delivery with the standard library: implicit TLS, STARTTLS or plain (loopback relays only)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from connectors.mail.base import MailError, OutgoingMail


@dataclass(frozen=True, slots=True)
class SmtpEndpoint:
    """Where and how to hand mail over."""

    host: str
    port: int
    sender: str
    security: str = "starttls"  # none | starttls | tls
    username: str = ""
    password: str = ""
    timeout: float = 15.0
    ssl_context: ssl.SSLContext | None = None


class SmtpMailer:
    """One SMTP connection per mail: reminders' mail volume is a few sign-ups and resets."""

    def __init__(self, endpoint: SmtpEndpoint) -> None:
        self._endpoint = endpoint

    def send(self, mail: OutgoingMail) -> None:
        """Hand the mail to the relay; `MailError` when it refuses or cannot be reached."""
        e = self._endpoint
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = e.sender, mail.to, mail.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=e.sender.rpartition("@")[2] or None)
        message.set_content(mail.body)
        context = e.ssl_context or ssl.create_default_context()
        try:
            client = (
                smtplib.SMTP_SSL(e.host, e.port, timeout=e.timeout, context=context)
                if e.security == "tls"
                else smtplib.SMTP(e.host, e.port, timeout=e.timeout)
            )
            with client:
                if e.security == "starttls":
                    client.starttls(context=context)
                if e.username:
                    client.login(e.username, e.password)
                client.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(f"the mail server {e.host}:{e.port} did not take the mail: {exc}") from exc
