"""Prepaid SMS credit: a ledger of movements plus a balance that can only be debited atomically."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from reminders.models import Account, CreditEntry


def grant(session: Session, account_id: int, amount: int, *, kind: str, now: datetime, note: str = "") -> int:
    """Add credit (sign-up bonus, purchase, adjustment); returns the new balance."""
    if amount <= 0:
        raise ValueError("a grant must be positive")
    return _move(session, account_id, amount, kind=kind, now=now, note=note)


def debit(session: Session, account: Account, amount: int, *, reminder_id: int, now: datetime) -> bool:
    """Take `amount` SMS from a locked account's balance if it covers them; False (nothing changed) otherwise.

    The caller holds the account row locked (``SELECT … FOR UPDATE``, or SQLite's write lock), so
    the balance it read is current and two senders can never overdraw the account.
    """
    if account.credit_balance < amount:
        return False
    account.credit_balance -= amount
    session.add(
        CreditEntry(
            account_id=account.id,
            delta=-amount,
            balance_after=account.credit_balance,
            kind="send",
            reminder_id=reminder_id,
            created_at=now,
        )
    )
    return True


def refund(
    session: Session, account_id: int, amount: int, *, reminder_id: int, now: datetime, note: str
) -> int:
    """Give back the credit of a message the gateway did not accept; returns the new balance."""
    return _move(session, account_id, amount, kind="refund", now=now, note=note, reminder_id=reminder_id)


def ledger_sum(session: Session, account_id: int) -> int:
    """The balance recomputed from the ledger (for audits and tests)."""
    total = session.scalar(
        select(func.coalesce(func.sum(CreditEntry.delta), 0)).where(CreditEntry.account_id == account_id)
    )
    return int(total or 0)


def _move(
    session: Session,
    account_id: int,
    amount: int,
    *,
    kind: str,
    now: datetime,
    note: str,
    reminder_id: int | None = None,
) -> int:
    balance = session.execute(
        update(Account)
        .where(Account.id == account_id)
        .values(credit_balance=Account.credit_balance + amount)
        .returning(Account.credit_balance)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    session.add(
        CreditEntry(
            account_id=account_id,
            delta=amount,
            balance_after=balance,
            kind=kind,
            note=note[:200],
            reminder_id=reminder_id,
            created_at=now,
        )
    )
    return int(balance)
