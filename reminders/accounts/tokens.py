"""Signed, expiring links sent by e-mail (confirm an address, reset a password, accept an invitation).

Each token names its purpose (the salt) and, for password links, a fingerprint of the current
password hash: once the password changes, every older link stops working, so links are single-use
without a table of issued tokens.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum

from itsdangerous import BadSignature, URLSafeTimedSerializer


class Purpose(StrEnum):
    """What a link lets its holder do, and how long it stays valid."""

    CONFIRM_EMAIL = "confirm-email"
    RESET_PASSWORD = "reset-password"
    ACCEPT_INVITE = "accept-invite"

    @property
    def max_age_seconds(self) -> int:
        return {"confirm-email": 7 * 86400, "reset-password": 3600, "accept-invite": 7 * 86400}[self.value]


@dataclass(frozen=True, slots=True)
class LinkClaim:
    """What a valid link says: the row it is for (a user or an invitation) and the state it names."""

    subject_id: int
    fingerprint: str


class LinkTokens:
    """Issues and checks e-mail link tokens with the installation's secret key."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def issue(self, purpose: Purpose, subject_id: int, state: str) -> str:
        """A URL-safe token for `purpose`; `state` is what must not have changed when it is used."""
        return self._serializer(purpose).dumps([subject_id, fingerprint(state)])

    def check(self, purpose: Purpose, token: str) -> LinkClaim | None:
        """The claim of a genuine, unexpired token of this purpose; None otherwise."""
        try:
            subject_id, mark = self._serializer(purpose).loads(token, max_age=purpose.max_age_seconds)
        except (BadSignature, ValueError, TypeError):
            return None
        if not isinstance(subject_id, int) or not isinstance(mark, str):
            return None
        return LinkClaim(subject_id, mark)

    def _serializer(self, purpose: Purpose) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self._secret, salt=f"reminders.{purpose.value}")


def fingerprint(state: str) -> str:
    """A short digest of the state (password hash, e-mail, invitation) that a link is bound to."""
    return hashlib.sha256(state.encode()).hexdigest()[:16]


def still_matches(claim: LinkClaim, state: str) -> bool:
    """Whether the state the link was issued for is still the user's state."""
    return hmac.compare_digest(claim.fingerprint, fingerprint(state))
