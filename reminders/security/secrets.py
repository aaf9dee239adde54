"""Encryption of OAuth tokens at rest, and signatures for values that travel through browsers.

Keys derive from `REMINDERS_SECRET_KEY` (and `REMINDERS_PREVIOUS_SECRET_KEYS` during a rotation):
new data is encrypted with the current key, data written under an older key still decrypts,
and `rotate` re-encrypts it, so a key can be replaced without downtime (MultiFernet).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretDecryptionError(Exception):
    """Stored data was encrypted with a key this installation no longer has."""


def _derive(secret: str, purpose: str) -> bytes:
    # One secret, separate keys per purpose: a leaked signing key never decrypts tokens.
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


class TokenCipher:
    """Encrypts and decrypts small secrets (OAuth token JSON) with key rotation."""

    def __init__(self, secret: str, previous: Sequence[str] = ()) -> None:
        keys = [Fernet(base64.urlsafe_b64encode(_derive(s, "token-encryption"))) for s in (secret, *previous)]
        self._fernet = MultiFernet(keys)

    def encrypt(self, plaintext: str) -> bytes:
        """Ciphertext of `plaintext` under the current key."""
        return self._fernet.encrypt(plaintext.encode())

    def decrypt(self, ciphertext: bytes) -> str:
        """The plaintext; `SecretDecryptionError` when no configured key can read it."""
        try:
            return self._fernet.decrypt(ciphertext).decode()
        except InvalidToken as exc:
            raise SecretDecryptionError(
                "Stored credentials cannot be decrypted with the configured secret keys; "
                "restore the previous REMINDERS_SECRET_KEY or reconnect the calendar."
            ) from exc

    def rotate(self, ciphertext: bytes) -> bytes:
        """Re-encrypt data written under an older key with the current one."""
        return self._fernet.rotate(ciphertext)


class Signer:
    """HMAC signatures for values handed to a browser or a third party and read back later."""

    def __init__(self, secret: str) -> None:
        self._key = _derive(secret, "signing")

    def sign(self, value: str) -> str:
        """`value` with its signature appended."""
        return f"{value}.{self._mac(value)}"

    def unsign(self, signed: str) -> str | None:
        """The value if the signature is genuine, else None."""
        value, _, mac = signed.rpartition(".")
        if not value or not hmac.compare_digest(mac, self._mac(value)):
            return None
        return value

    def _mac(self, value: str) -> str:
        digest = hmac.new(self._key, value.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
