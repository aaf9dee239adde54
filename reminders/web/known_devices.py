"""The "known device" cookie (OWASP's device cookies): this browser has signed in to these accounts.

After a sign-in the browser gets a signed, long-lived, HttpOnly cookie naming a random device id
and (as keyed digests) the addresses signed in to from it. A sign-in from a device that knows the
address is counted against that device alone, so an attacker's failed guesses from elsewhere,
which lock the address for unknown devices, never lock out its owner. Only someone holding the
cookie can use up a device's own count. The cookie is sent to `/login` only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from starlette.requests import HTTPConnection
from starlette.responses import Response

from reminders.web.signed_cookie import SignedCookie

COOKIE = "reminders_device"
PATH = "/login"
# Addresses remembered per browser (a shared front-desk computer signs in to a few).
MAX_ADDRESSES = 5


@dataclass(frozen=True, slots=True)
class KnownDevice:
    """What the cookie says: the device id (the key of its own counter) and the addresses it knows."""

    id: str
    addresses: tuple[str, ...]


class KnownDevices:
    """Reads and writes the known-device cookie with the installation's secret key."""

    def __init__(self, secret: str, *, max_age_seconds: int, secure: bool) -> None:
        self._cookie = SignedCookie(
            COOKIE,
            secret,
            salt="reminders.known-device",
            max_age_seconds=max_age_seconds,
            secure=secure,
            path=PATH,
            samesite="strict",
        )
        self._key = hmac.new(secret.encode(), b"known-device-address", hashlib.sha256).digest()

    def read(self, connection: HTTPConnection) -> KnownDevice | None:
        """The request's device cookie, if genuine and not too old."""
        data = self._cookie.load(connection) or {}
        device_id, addresses = data.get("d"), data.get("a")
        if not isinstance(device_id, str) or not isinstance(addresses, list):
            return None
        return KnownDevice(device_id, tuple(a for a in addresses if isinstance(a, str)))

    def device_for(self, connection: HTTPConnection, address: str) -> str | None:
        """The id of this browser's device if it has signed in to `address` before, else None."""
        device = self.read(connection)
        if device is None or self._digest(address) not in device.addresses:
            return None
        return device.id

    def remember(self, connection: HTTPConnection, response: Response, address: str) -> None:
        """Set a fresh cookie after a sign-in to `address`: a new device id, this address first."""
        known = self.read(connection)
        digest = self._digest(address)
        others = [a for a in (known.addresses if known else ()) if a != digest]
        self._cookie.store(response, {"d": secrets.token_urlsafe(16), "a": [digest, *others][:MAX_ADDRESSES]})

    def _digest(self, address: str) -> str:
        # Keyed, so the cookie does not show which addresses were used on this browser.
        return hmac.new(self._key, address.encode(), hashlib.sha256).hexdigest()[:32]
