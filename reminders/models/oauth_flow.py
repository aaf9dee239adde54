from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from reminders.models.base import Base, BigId, CreatedAtMixin


class OAuthFlow(CreatedAtMixin, Base):
    """A consent round trip in progress: the `state` sent to the provider and the PKCE verifier."""

    __tablename__ = "oauth_flow"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("account.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(16))
    # The browser session that started the flow; the callback must come back in the same one.
    session_id: Mapped[str] = mapped_column(String(64))
    code_verifier: Mapped[str] = mapped_column(String(256))
    used_at: Mapped[datetime | None]
