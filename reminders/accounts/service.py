"""Account and user lifecycle in the database: sign-up, confirmation, sign-in, password reset, staff.

Functions take an open session and return or raise; mail and HTTP belong to the callers. Error
messages are English msgids that the pages translate. Nothing here tells a visitor whether an
address has an account: sign-up answers the same either way, and the e-mail says the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reminders.accounts.passwords import hash_password, password_problem, verify_password
from reminders.accounts.sessions import end_sessions_of
from reminders.accounts.tokens import LinkTokens, Purpose, still_matches
from reminders.billing import credit
from reminders.messaging.formatting import SUPPORTED_LANGUAGES
from reminders.messaging.sender import default_sender_name
from reminders.models import Account, User
from reminders.msgid import N_

# Deliberately simple: the confirmation mail is the real check that an address works.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
ROLES = ("owner", "staff")
LANGUAGES = ("de", "en")
# The language of the reminders when the browser names none we write.
DEFAULT_REMINDER_LANGUAGE = "de"


class FormErrors(Exception):
    """Input refused; `errors` maps each form field to the reason (an English msgid)."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


@dataclass(frozen=True, slots=True)
class SignUp:
    """What the sign-up form asks for.

    `language` is the owner's interface language (pages, e-mails); `reminder_language` the
    language of the clients' SMS (the account's), asked for separately: an owner who reads the
    pages in English may well remind German-speaking clients.
    """

    business: str
    name: str
    email: str
    password: str
    language: str = "de"
    reminder_language: str = DEFAULT_REMINDER_LANGUAGE


def reminder_language_from(accept_language: str) -> str:
    """The reminder language a sign-up form proposes: the browser's most preferred one we write.

    `accept_language` is the Accept-Language header ("de-CH,en;q=0.8"); it is only a proposal,
    which the form shows and the owner changes.
    """
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        code = tag.strip().lower().replace("_", "-").split("-", 1)[0]
        if code in SUPPORTED_LANGUAGES and weight > 0:
            ranked.append((-weight, position, code))
    return min(ranked)[2] if ranked else DEFAULT_REMINDER_LANGUAGE


def normalise_email(email: str) -> str:
    """Addresses are compared and stored lower-cased without surrounding blanks."""
    return email.strip().lower()


def email_problem(email: str) -> str | None:
    """Why an address is refused, or None."""
    if not _EMAIL.match(email) or len(email) > 320:
        return N_("Enter an e-mail address such as name@example.com.")
    return None


def user_by_email(session: Session, email: str) -> User | None:
    """The user with this address (any case), if any."""
    return session.scalars(select(User).where(User.email == normalise_email(email))).first()


@dataclass(frozen=True, slots=True)
class Registration:
    """What a sign-up did: a new unconfirmed owner (`created`), or nothing for an address in use."""

    user: User
    created: bool


def sign_up(session: Session, form: SignUp, *, now: datetime, free_sms: int) -> Registration:
    """Create the business, its owner (unconfirmed) and the welcome credit, unless the address has an account.

    The account's reminders are in the language chosen on the form; its sender name is the
    business name where that is a valid sender (see `default_sender_name`).

    Input errors never depend on whether the address is in use, so the form cannot be used to
    find out who has an account; the caller e-mails the address either way.
    """
    email = normalise_email(form.email)
    errors: dict[str, str] = {}
    if not form.business.strip():
        errors["business"] = N_("Enter the name of your business.")
    elif len(form.business.strip()) > 200:
        errors["business"] = N_("Use at most 200 characters.")
    if len(form.name.strip()) > 200:
        errors["name"] = N_("Use at most 200 characters.")
    if problem := email_problem(email):
        errors["email"] = problem
    if problem := password_problem(form.password, email):
        errors["password"] = problem
    if form.reminder_language not in SUPPORTED_LANGUAGES:
        errors["reminder_language"] = N_("Choose German, French, Italian or English.")
    if errors:
        raise FormErrors(errors)
    password_hash = hash_password(form.password)  # also for an address in use: the same time either way
    existing = user_by_email(session, email)
    if existing is not None:
        return Registration(existing, created=False)
    language = form.language if form.language in LANGUAGES else "de"
    business = form.business.strip()
    account = Account(
        name=business,
        language=form.reminder_language,
        sender_name=default_sender_name(business),
        created_at=now,
    )
    session.add(account)
    session.flush()
    user = User(
        account_id=account.id,
        email=email,
        name=form.name.strip(),
        password_hash=password_hash,
        role="owner",
        language=language,
        created_at=now,
    )
    session.add(user)
    if free_sms:
        credit.grant(session, account.id, free_sms, kind="grant", now=now, note="welcome credit")
    session.flush()
    return Registration(user, created=True)


def authenticate(session: Session, email: str, password: str, *, now: datetime) -> User | None:
    """The user these credentials belong to; upgrades an outdated hash on the way.

    An owner who has not confirmed the address yet is returned too (the caller refuses the
    sign-in and sends a new link), but it does not count as a sign-in.
    """
    user = user_by_email(session, email)
    ok, new_hash = verify_password(user.password_hash if user else None, password)
    if not ok or user is None:
        return None
    if new_hash:
        user.password_hash = new_hash
    if user.email_confirmed_at is not None:
        user.last_login_at = now
    return user


def confirmation_token(tokens: LinkTokens, user: User) -> str:
    """The link token that confirms the user's current address."""
    return tokens.issue(Purpose.CONFIRM_EMAIL, user.id, user.email)


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A confirmed address; `first` when this link confirmed it (rather than an earlier one)."""

    user: User
    first: bool


def confirm_email(session: Session, tokens: LinkTokens, token: str, *, now: datetime) -> Confirmation | None:
    """Mark the address confirmed; None when the link is forged, expired or for an old address."""
    claim = tokens.check(Purpose.CONFIRM_EMAIL, token)
    user = session.get(User, claim.subject_id) if claim else None
    if claim is None or user is None or not still_matches(claim, user.email):
        return None
    first = user.email_confirmed_at is None
    if first:
        user.email_confirmed_at = now
    return Confirmation(user, first)


def reset_token(tokens: LinkTokens, user: User) -> str:
    """A password reset link, valid until the password changes."""
    return tokens.issue(Purpose.RESET_PASSWORD, user.id, user.password_hash or f"unset:{user.id}")


def user_of_reset_link(session: Session, tokens: LinkTokens, token: str) -> User | None:
    """The user a reset link is for, while it is valid and unused."""
    claim = tokens.check(Purpose.RESET_PASSWORD, token)
    user = session.get(User, claim.subject_id) if claim else None
    if claim is None or user is None or not still_matches(claim, user.password_hash or f"unset:{user.id}"):
        return None
    return user


def set_password(session: Session, user: User, password: str, *, now: datetime) -> None:
    """Set a new password; ends all the user's sessions and confirms the address (the link proved it)."""
    if problem := password_problem(password, user.email):
        raise FormErrors({"password": problem})
    user.password_hash = hash_password(password)
    end_sessions_of(session, user.id)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now


def remove_user(session: Session, owner: User, user_id: int) -> bool:
    """Remove a user of the owner's account; the last owner cannot be removed."""
    user = session.get(User, user_id)
    if user is None or user.account_id != owner.account_id:
        return False
    if user.role == "owner":
        owners = session.scalar(
            select(func.count()).where(User.account_id == owner.account_id, User.role == "owner")
        )
        if (owners or 0) <= 1:
            raise FormErrors({"user": N_("An account needs at least one owner.")})
    session.delete(user)
    return True
