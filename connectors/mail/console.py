"""Development mailer: prints each mail (links included) to the console and keeps the latest ones.

It writes to stderr itself rather than through logging: this is the developer's inbox, and log
records are redacted (URLs cut to their origin), which would cut every confirmation link. In
production (`show_mail=False`) it prints nothing of the mail but a warning that it was not sent.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import deque
from typing import TextIO

from connectors.mail.base import OutgoingMail

log = logging.getLogger("reminders.mail.console")


class ConsoleMailer:
    """Sends nothing; the mail appears in the server's console so links can be followed."""

    def __init__(self, *, keep: int = 100, show_mail: bool = True, stream: TextIO | None = None) -> None:
        self._lock = threading.Lock()
        self._sent: deque[OutgoingMail] = deque(maxlen=keep)
        self._show_mail = show_mail
        self._stream = stream

    def send(self, mail: OutgoingMail) -> None:
        """Print the mail (or, in production, only say that it was not sent)."""
        with self._lock:
            self._sent.append(mail)
        if not self._show_mail:
            log.warning("mail.not_sent subject=%r: no SMTP relay is set (REMINDERS_SMTP_HOST)", mail.subject)
            return
        stream = self._stream or sys.stderr
        print(f"E-mail to {mail.to}: {mail.subject}\n\n{mail.body}\n", file=stream, flush=True)

    @property
    def sent(self) -> list[OutgoingMail]:
        """The mails printed so far, oldest first."""
        with self._lock:
            return list(self._sent)
