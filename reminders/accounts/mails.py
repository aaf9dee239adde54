"""The e-mails sign-in sends, in the recipient's language."""

from __future__ import annotations

from connectors.mail import OutgoingMail
from reminders.web.i18n import gettext_for


def confirmation_mail(*, to: str, language: str, business: str, link: str) -> OutgoingMail:
    """Asks a new owner to confirm their address."""
    body = gettext_for(
        language,
        "Welcome to reminders, %(business)s!\n\n"
        "Please confirm your e-mail address by opening this link:\n%(link)s\n\n"
        "If you did not sign up, ignore this e-mail.",
    )
    return OutgoingMail(
        to=to,
        subject=gettext_for(language, "Confirm your e-mail address"),
        body=body % {"business": business, "link": link},
    )


def reset_mail(*, to: str, language: str, link: str) -> OutgoingMail:
    """Lets a user choose a new password."""
    body = gettext_for(
        language,
        "Someone asked to reset the password of your reminders account.\n\n"
        "Choose a new password here (the link works for one hour and only once):\n%(link)s\n\n"
        "If it was not you, ignore this e-mail; your password stays as it is.",
    )
    return OutgoingMail(
        to=to, subject=gettext_for(language, "Reset your password"), body=body % {"link": link}
    )


def invitation_mail(*, to: str, language: str, business: str, inviter: str, link: str) -> OutgoingMail:
    """Invites a colleague into the account."""
    body = gettext_for(
        language,
        "%(inviter)s invited you to the reminders account of %(business)s.\n\n"
        "Choose your password here (the link works for 7 days):\n%(link)s",
    )
    subject = gettext_for(language, "You are invited to %(business)s")
    return OutgoingMail(
        to=to,
        subject=subject % {"business": business},
        body=body % {"inviter": inviter, "business": business, "link": link},
    )


def account_exists_mail(*, to: str, language: str, login_link: str, reset_link: str) -> OutgoingMail:
    """Answers a sign-up with an address that has an account: the page said nothing, this says the rest."""
    body = gettext_for(
        language,
        "Someone asked to create a reminders account with this e-mail address. It has an account "
        "already, so nothing was changed.\n\n"
        "Sign in here:\n%(login)s\n\n"
        "Forgot your password? Choose a new one here (the link works for one hour and only once):\n"
        "%(reset)s\n\n"
        "If it was not you, ignore this e-mail.",
    )
    return OutgoingMail(
        to=to,
        subject=gettext_for(language, "You have a reminders account already"),
        body=body % {"login": login_link, "reset": reset_link},
    )


def invitation_for_existing_account_mail(
    *, to: str, language: str, business: str, inviter: str, login_link: str
) -> OutgoingMail:
    """Answers an invitation of an address that has an account elsewhere (one address, one account)."""
    body = gettext_for(
        language,
        "%(inviter)s invited you to the reminders account of %(business)s, but your e-mail address "
        "belongs to another reminders account already. An address can belong to one account only: "
        "to join %(business)s, ask %(inviter)s to invite another address of yours.\n\n"
        "Your own account stays as it is. Sign in here:\n%(link)s",
    )
    subject = gettext_for(language, "You are invited to %(business)s")
    return OutgoingMail(
        to=to,
        subject=subject % {"business": business},
        body=body % {"inviter": inviter, "business": business, "link": login_link},
    )
