"""The blacklist and the invalid numbers of an account: add, remove, list, and the lookups dispatch needs.

Numbers are stored in E.164 (`typed.to_e164`), exactly as appointments store their recipient,
so a lookup is a string comparison the unique index (account, kind, number) answers. Every
function takes the account id and filters by it; a row of another account is never returned.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reminders.accounts.service import FormErrors
from reminders.models import BlockedNumber
from reminders.msgid import N_
from reminders.numbers.typed import to_e164

BLACKLIST: Final = "blacklist"
INVALID: Final = "invalid"
# When a number is on both lists, the opt-out is what the owner must hear about.
KINDS: Final = (BLACKLIST, INVALID)
SOURCES: Final = ("manual", "reply", "gateway")
MAX_NOTE: Final = 200


@dataclass(frozen=True, slots=True)
class Added:
    """The list entry for the number, and whether this call created it (False: it was there already)."""

    entry: BlockedNumber
    created: bool


def add(
    session: Session,
    account_id: int,
    *,
    kind: str,
    typed: str,
    region: str,
    now: datetime,
    note: str = "",
    source: str = "manual",
) -> Added:
    """Put a number on one of the account's lists; `FormErrors` ("number", "note") for bad input.

    A number already on the list is not an error: the existing entry comes back with
    `created=False`, so the caller can say so without losing anything.
    """
    if kind not in KINDS or source not in SOURCES:
        raise ValueError(f"unknown list {kind!r} or source {source!r}")
    errors: dict[str, str] = {}
    number = ""
    try:
        number = to_e164(typed, region)
    except FormErrors as exc:
        errors.update(exc.errors)
    if len(note.strip()) > MAX_NOTE:
        errors["note"] = N_("Use at most 200 characters.")
    if errors:
        raise FormErrors(errors)
    return add_number(session, account_id, kind=kind, number=number, now=now, note=note, source=source)


def add_number(
    session: Session, account_id: int, *, kind: str, number: str, now: datetime, note: str = "", source: str
) -> Added:
    """Put an E.164 number on a list (for STOP replies and gateway reports, which need no parsing)."""
    existing = _entry(session, account_id, kind, number)
    if existing is not None:
        return Added(existing, created=False)
    entry = BlockedNumber(
        account_id=account_id,
        kind=kind,
        number=number,
        source=source,
        note=note.strip()[:MAX_NOTE],
        created_at=now,
    )
    try:
        # A savepoint: a concurrent add of the same number must not roll back the caller's transaction.
        with session.begin_nested():
            session.add(entry)
    except IntegrityError:
        found = _entry(session, account_id, kind, number)
        if found is None:
            raise
        return Added(found, created=False)
    return Added(entry, created=True)


def owned(session: Session, account_id: int, entry_id: int) -> BlockedNumber | None:
    """The entry with this id if it belongs to the account (None for another account's id)."""
    found = session.get(BlockedNumber, entry_id)
    return found if found is not None and found.account_id == account_id else None


def remove(session: Session, account_id: int, entry_id: int) -> BlockedNumber | None:
    """Take an entry off its list; the removed entry, or None when the account has no such entry."""
    found = owned(session, account_id, entry_id)
    if found is not None:
        session.delete(found)
        session.flush()
    return found


def entries(
    session: Session, account_id: int, kind: str, *, offset: int = 0, limit: int = 50
) -> list[BlockedNumber]:
    """One page of a list, newest first."""
    stmt = (
        select(BlockedNumber)
        .where(BlockedNumber.account_id == account_id, BlockedNumber.kind == kind)
        .order_by(BlockedNumber.created_at.desc(), BlockedNumber.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def count(session: Session, account_id: int, kind: str) -> int:
    """How many numbers are on a list."""
    stmt = select(func.count()).where(BlockedNumber.account_id == account_id, BlockedNumber.kind == kind)
    return int(session.scalar(stmt) or 0)


def is_blocked(session: Session, account_id: int, number: str) -> str | None:
    """The list ("blacklist" or "invalid") that keeps the account from texting `number` (E.164), if any."""
    return blocked_kinds(session, [(account_id, number)]).get((account_id, number))


def blocked_kinds(session: Session, recipients: Collection[tuple[int, str]]) -> dict[tuple[int, str], str]:
    """Which of these (account id, number) pairs are blocked, and by which list, in one query.

    The dispatcher asks this once per batch. The query filters by both id and number sets and
    may return a few pairs that were not asked (another account's entry for a number asked
    for one account); they are dropped here.
    """
    wanted = set(recipients)
    if not wanted:
        return {}
    stmt = select(BlockedNumber.account_id, BlockedNumber.number, BlockedNumber.kind).where(
        BlockedNumber.account_id.in_({account for account, _ in wanted}),
        BlockedNumber.number.in_({number for _, number in wanted}),
    )
    found: dict[tuple[int, str], str] = {}
    for account_id, number, kind in session.execute(stmt):
        key = (account_id, number)
        if key in wanted and (key not in found or KINDS.index(kind) < KINDS.index(found[key])):
            found[key] = kind
    return found


def _entry(session: Session, account_id: int, kind: str, number: str) -> BlockedNumber | None:
    stmt = select(BlockedNumber).where(
        BlockedNumber.account_id == account_id, BlockedNumber.kind == kind, BlockedNumber.number == number
    )
    return session.scalars(stmt).first()
