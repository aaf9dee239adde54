"""Password hashing (argon2id, via argon2-cffi) and the rules a new password must meet."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from reminders.msgid import N_

MIN_LENGTH = 10
MAX_LENGTH = 1024

_HASHER = PasswordHasher()


@cache
def _dummy_hash() -> str:
    # Verified against when the e-mail is unknown, so a wrong address costs as long as a wrong
    # password. Made on first use: hashing takes ~0.1 s, which every command would pay at import.
    return _HASHER.hash("not-a-real-password-0")


def hash_password(password: str) -> str:
    """An argon2id hash with the library's current parameters."""
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> tuple[bool, str | None]:
    """Whether `password` matches; the second value is a fresh hash when the parameters changed."""
    try:
        _HASHER.verify(stored or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False, None
    if stored is None:
        return False, None
    return True, hash_password(password) if _HASHER.check_needs_rehash(stored) else None


def password_problem(password: str, email: str = "") -> str | None:
    """Why a new password is refused (an English msgid the page translates), or None."""
    if len(password) < MIN_LENGTH:
        return N_("Use at least 10 characters.")
    if len(password) > MAX_LENGTH:
        return N_("Use at most 1024 characters.")
    if len(set(password)) < 4:
        return N_("Use more different characters.")
    if email and password.strip().lower() == email.strip().lower():
        return N_("Do not use your e-mail address as the password.")
    return None
