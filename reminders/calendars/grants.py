"""OAuth grants: encrypted tokens at rest, refreshed tokens saved, revocations recorded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from reminders.models import CalendarConnection, OAuthGrant
from reminders.security.secrets import TokenCipher


def store_grant(
    session: Session,
    cipher: TokenCipher,
    *,
    account_id: int,
    provider: str,
    subject: str,
    token_json: str,
    scopes: str,
    now: datetime,
) -> OAuthGrant:
    """Keep a new grant; the token JSON is encrypted before it reaches the database."""
    grant = OAuthGrant(
        account_id=account_id,
        provider=provider,
        subject=subject,
        token=cipher.encrypt(token_json),
        scopes=scopes,
        created_at=now,
        updated_at=now,
    )
    session.add(grant)
    session.flush()
    return grant


def token_of(cipher: TokenCipher, grant: OAuthGrant) -> str:
    """The decrypted token JSON of a grant."""
    return cipher.decrypt(grant.token)


def save_refreshed_token(
    factory: sessionmaker[Session], cipher: TokenCipher, grant_id: int, token_json: str, *, now: datetime
) -> None:
    """Persist a token the connector refreshed (called back from the connector, in its own transaction)."""
    with factory.begin() as session:
        session.execute(
            update(OAuthGrant)
            .where(OAuthGrant.id == grant_id)
            .values(token=cipher.encrypt(token_json), updated_at=now)
            .execution_options(synchronize_session=False)
        )


def mark_revoked(session: Session, grant_id: int, reason: str, *, now: datetime) -> None:
    """Record that the owner's access is gone; its calendars keep their appointments and reminders."""
    grant = session.get(OAuthGrant, grant_id)
    if grant is not None and grant.revoked_at is None:
        grant.revoked_at, grant.revoked_reason = now, reason


def connections_of(session: Session, grant_id: int) -> list[CalendarConnection]:
    """The calendars connected through a grant (still connected ones only)."""
    stmt = select(CalendarConnection).where(
        CalendarConnection.grant_id == grant_id, CalendarConnection.disconnected_at.is_(None)
    )
    return list(session.scalars(stmt))
