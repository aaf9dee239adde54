"""Inviting people into an account: pending invitations, their links, and accepting one.

An invitation is its own row until its link is used, so an address that already has an account
(in another business) gets a pending invitation like any other: the owner's answer and list are
the same either way, and only the e-mail to that address says it has an account already.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from reminders.accounts.passwords import hash_password, password_problem
from reminders.accounts.service import ROLES, FormErrors, email_problem, normalise_email, user_by_email
from reminders.accounts.tokens import LinkTokens, Purpose, still_matches
from reminders.models import Invitation, User
from reminders.msgid import N_


@dataclass(frozen=True, slots=True)
class Invited:
    """A pending invitation just (re)sent, and the user who already has its address, if anyone."""

    invitation: Invitation
    existing_user: User | None


def invite(session: Session, inviter: User, *, email: str, name: str, role: str, now: datetime) -> Invited:
    """Add or refresh a pending invitation into the inviter's account; `FormErrors` for bad input.

    Inviting an address again sends a new link and retires the older one.
    """
    address = normalise_email(email)
    errors: dict[str, str] = {}
    if problem := email_problem(address):
        errors["email"] = problem
    if role not in ROLES:
        errors["role"] = N_("Choose owner or staff.")
    if errors:
        raise FormErrors(errors)
    existing = user_by_email(session, address)
    if existing is not None and existing.account_id == inviter.account_id:
        # The owner sees this account's users on the same page, so saying so tells nothing new.
        raise FormErrors({"email": N_("This person is a user of this account already.")})
    invitation = session.scalars(
        select(Invitation).where(Invitation.account_id == inviter.account_id, Invitation.email == address)
    ).first()
    if invitation is None:
        invitation = Invitation(account_id=inviter.account_id, email=address, created_at=now)
        session.add(invitation)
    invitation.name = name.strip()[:200]
    invitation.role = role
    invitation.language = inviter.language
    invitation.sent_at = now
    session.flush()
    return Invited(invitation, existing)


def pending_invitations(session: Session, account_id: int) -> list[Invitation]:
    """The account's invitations nobody has accepted yet, by address."""
    stmt = select(Invitation).where(Invitation.account_id == account_id).order_by(Invitation.email)
    return list(session.scalars(stmt))


def owned_invitation(session: Session, account_id: int, invitation_id: int) -> Invitation | None:
    """The invitation with this id if it belongs to the account (None for another account's id)."""
    found = session.get(Invitation, invitation_id)
    return found if found is not None and found.account_id == account_id else None


def invitation_token(tokens: LinkTokens, invitation: Invitation) -> str:
    """The link token of the invitation's latest e-mail."""
    return tokens.issue(Purpose.ACCEPT_INVITE, invitation.id, _link_state(invitation))


def invitation_of_link(session: Session, tokens: LinkTokens, token: str) -> Invitation | None:
    """The invitation a link is for, while it is pending and the link is its latest."""
    claim = tokens.check(Purpose.ACCEPT_INVITE, token)
    invitation = session.get(Invitation, claim.subject_id) if claim else None
    if claim is None or invitation is None or not still_matches(claim, _link_state(invitation)):
        return None
    return invitation


def accept_invitation(session: Session, invitation: Invitation, password: str, *, now: datetime) -> User:
    """Make the invited person a user with this password (address confirmed: the link proved it)."""
    if problem := password_problem(password, invitation.email):
        raise FormErrors({"password": problem})
    if user_by_email(session, invitation.email) is not None:
        # They signed up or accepted another business's invitation since: one address, one account.
        raise FormErrors({"form": N_("This e-mail address has an account already. Sign in with it instead.")})
    user = User(
        account_id=invitation.account_id,
        email=invitation.email,
        name=invitation.name,
        password_hash=hash_password(password),
        role=invitation.role,
        language=invitation.language,
        email_confirmed_at=now,
        created_at=now,
    )
    session.add(user)
    session.delete(invitation)
    session.flush()
    return user


def _link_state(invitation: Invitation) -> str:
    return f"{invitation.email}:{invitation.sent_at.astimezone(UTC).isoformat()}"
