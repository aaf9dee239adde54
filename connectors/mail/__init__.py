"""Outgoing e-mail (confirmation, password reset, invitations): SMTP, or the console in development."""

from connectors.mail.base import Mailer, MailError, OutgoingMail
from connectors.mail.console import ConsoleMailer
from connectors.mail.smtp import SmtpEndpoint, SmtpMailer

__all__ = ["ConsoleMailer", "MailError", "Mailer", "OutgoingMail", "SmtpEndpoint", "SmtpMailer"]
