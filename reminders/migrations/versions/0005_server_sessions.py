"""server-side sessions, invitations apart from users

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import reminders.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "user_session",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("last_seen_at", reminders.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", reminders.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", reminders.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_user_session_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_user_session")),
    )
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_session_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_user_session_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "invitation",
        sa.Column("account_id", BIG_ID, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("sent_at", reminders.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("created_at", reminders.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_invitation_account_id_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation")),
        sa.UniqueConstraint("account_id", "email", name=op.f("uq_invitation_account_id")),
    )
    # Invited users were users without a password; they become pending invitations. The links
    # already sent named those user rows and stop working: the owner sends the invitation again.
    op.execute(
        "INSERT INTO invitation (account_id, email, name, role, language, sent_at, created_at) "
        "SELECT account_id, email, name, role, language, created_at, created_at "
        "FROM user_account WHERE password_hash IS NULL"
    )
    op.execute("DELETE FROM user_account WHERE password_hash IS NULL")


def downgrade() -> None:
    # One pending invitation per free address becomes an invited user again.
    op.execute(
        "INSERT INTO user_account (account_id, email, name, password_hash, role, language, "
        "session_epoch, created_at) "
        "SELECT i.account_id, i.email, i.name, NULL, i.role, i.language, 0, i.created_at "
        "FROM invitation i WHERE i.id = (SELECT MIN(j.id) FROM invitation j WHERE j.email = i.email) "
        "AND NOT EXISTS (SELECT 1 FROM user_account u WHERE u.email = i.email)"
    )
    op.drop_table("invitation")
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_session_expires_at"))
        batch_op.drop_index(batch_op.f("ix_user_session_user_id"))

    op.drop_table("user_session")
