"""Signed-in sessions kept on the server: a browser's session id counts only while its row lives.

The cookie carries the random session id; the table keeps only its SHA-256, so neither a copy of
the database nor a backup holds anything a browser could present. Signing out deletes the row
(a copied cookie is worthless afterwards), a new password deletes all of the user's rows, and
rows past their expiry are refused and removed a few at a time whenever someone signs in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, select, update
from sqlalchemy.orm import Session

from reminders.models import UserSession

# 256 bits: the id is the credential, so it must not be guessable.
SESSION_ID_BYTES = 32
# "Last seen" is refreshed at most this often, so reading pages does not write on every request.
TOUCH_INTERVAL = timedelta(minutes=5)
# Expired rows removed per sign-in: enough to outpace the rows sign-ins create, never a long delete.
PURGE_BATCH = 100


def session_digest(session_id: str) -> str:
    """What the table stores for a session id."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(db: Session, user_id: int, *, now: datetime, lifetime: timedelta) -> str:
    """Store a new session for the user and return its id (for the cookie only)."""
    purge_expired(db, now=now)
    session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
    db.add(
        UserSession(
            id_hash=session_digest(session_id),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
        )
    )
    db.flush()
    return session_id


def is_live(session_id: str, *, now: datetime) -> ColumnElement[bool]:
    """The condition a `UserSession` row must meet for this id to be signed in now."""
    return and_(UserSession.id_hash == session_digest(session_id), UserSession.expires_at > now)


def needs_touch(last_seen_at: datetime, *, now: datetime) -> bool:
    """Whether "last seen" is old enough to be written again."""
    return now - last_seen_at >= TOUCH_INTERVAL


def touch(db: Session, session_id: str, *, now: datetime) -> None:
    """Record that the session was used (conditional, so concurrent pages write it once)."""
    db.execute(
        update(UserSession)
        .where(
            UserSession.id_hash == session_digest(session_id),
            UserSession.last_seen_at <= now - TOUCH_INTERVAL,
        )
        .values(last_seen_at=now)
    )


def end_session(db: Session, session_id: str) -> None:
    """Sign this session out everywhere its cookie may have been copied to."""
    db.execute(delete(UserSession).where(UserSession.id_hash == session_digest(session_id)))


def end_sessions_of(db: Session, user_id: int) -> None:
    """Sign the user out of every browser (after a new password)."""
    db.execute(delete(UserSession).where(UserSession.user_id == user_id))


def purge_expired(db: Session, *, now: datetime) -> None:
    """Remove a batch of expired rows; on PostgreSQL, rows another sign-in is removing are skipped."""
    expired = (
        select(UserSession.id_hash)
        .where(UserSession.expires_at <= now)
        .limit(PURGE_BATCH)
        .with_for_update(skip_locked=True)
    )
    db.execute(delete(UserSession).where(UserSession.id_hash.in_(expired)))
