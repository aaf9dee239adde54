"""Development mailer: prints each mail (links included) to the log and keeps the latest ones."""

from __future__ import annotations

import logging
import threading
from collections import deque

from connectors.mail.base import OutgoingMail

log = logging.getLogger("reminders.mail.console")


class ConsoleMailer:
    """Sends nothing; the mail appears in the server's console so links can be followed."""

    def __init__(self, *, keep: int = 100) -> None:
        self._lock = threading.Lock()
        self._sent: deque[OutgoingMail] = deque(maxlen=keep)

    def send(self, mail: OutgoingMail) -> None:
        """Log the mail."""
        with self._lock:
            self._sent.append(mail)
        log.warning("E-mail to %s: %s\n\n%s\n", mail.to, mail.subject, mail.body)

    @property
    def sent(self) -> list[OutgoingMail]:
        """The mails logged so far, oldest first."""
        with self._lock:
            return list(self._sent)
