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
