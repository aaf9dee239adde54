"""The default gateway: writes each message to the log and keeps the latest in memory."""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import UTC, datetime

from connectors.sms.base import OutcomeUnknown, OutgoingSms, SentSms

log = logging.getLogger("reminders.sms.console")


@dataclass(frozen=True, slots=True)
class ConsoleMessage:
    """One message the console gateway "sent"."""

    sms: OutgoingSms
    provider_message_id: str
    sent_at: datetime


class ConsoleGateway:
    """Sends nothing: logs the message. For development, demos and benchmarks."""

    name = "console"

    def __init__(self, *, keep: int = 1000, quiet: bool = False) -> None:
        self._lock = threading.Lock()
        self._outbox: deque[ConsoleMessage] = deque(maxlen=keep)
        self._by_key: OrderedDict[str, SentSms] = OrderedDict()
        self._keep = keep
        self._quiet = quiet

    def send(self, sms: OutgoingSms) -> SentSms:
        """Record the message; a repeated idempotency key returns the first result."""
        with self._lock:
            if sms.idempotency_key in self._by_key:
                return self._by_key[sms.idempotency_key]
            sent = SentSms(provider_message_id=f"console-{uuid.uuid4().hex[:16]}", gateway=self.name)
            self._outbox.append(ConsoleMessage(sms, sent.provider_message_id, datetime.now(UTC)))
            self._by_key[sms.idempotency_key] = sent
            while len(self._by_key) > self._keep:
                self._by_key.popitem(last=False)
        if not self._quiet:
            log.info("SMS to %s from %s (%d segment(s)): %s", sms.to, sms.sender, sms.segments, sms.body)
        return sent

    def lookup(self, idempotency_key: str) -> SentSms | None:
        """The message sent under the key; after a restart the console cannot know."""
        with self._lock:
            if idempotency_key in self._by_key:
                return self._by_key[idempotency_key]
        raise OutcomeUnknown("the console gateway keeps messages in memory only")

    @property
    def outbox(self) -> list[ConsoleMessage]:
        """The latest messages, oldest first."""
        with self._lock:
            return list(self._outbox)
