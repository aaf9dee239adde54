from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from reminders.db import utcnow
from reminders.models.base import Base, BigId, CreatedAtMixin, IdMixin


class OAuthGrant(IdMixin, CreatedAtMixin, Base):
    """Access an owner granted to one provider account; every calendar picked from it shares it."""

    __tablename__ = "oauth_grant"

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("account.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(320), default="")
    # Token JSON encrypted with the installation's key (reminders.security.secrets.TokenCipher).
    token: Mapped[bytes] = mapped_column(LargeBinary)
    scopes: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(Text)
