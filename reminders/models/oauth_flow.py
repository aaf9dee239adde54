from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from reminders.models.base import Base, BigId, CreatedAtMixin


class OAuthFlow(CreatedAtMixin, Base):
    """A consent round trip in progress: the nonce in the `state` sent to the provider, and its secrets."""

    __tablename__ = "oauth_flow"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("account.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(16))
    # The browser session that started the flow; the callback must come back in the same one.
    session_id: Mapped[str] = mapped_column(String(64))
    # Encrypted: the PKCE verifier (Google) or MSAL's whole flow (Microsoft). Never in a URL or cookie.
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    used_at: Mapped[datetime | None]
