"""ORM models, one module per table; imported here so Alembic and relationships see them all."""

from reminders.models.account import Account
from reminders.models.appointment import Appointment
from reminders.models.base import Base
from reminders.models.blocked_number import BlockedNumber
from reminders.models.calendar_connection import CalendarConnection
from reminders.models.calendar_template import CalendarTemplate
from reminders.models.credit_ledger import CreditEntry
from reminders.models.invitation import Invitation
from reminders.models.message_template import MessageTemplate
from reminders.models.oauth_flow import OAuthFlow
from reminders.models.oauth_grant import OAuthGrant
from reminders.models.reminder import Reminder
from reminders.models.reminder_rule import ReminderRuleRow
from reminders.models.send_attempt import SendAttempt
from reminders.models.user import User
from reminders.models.user_session import UserSession

__all__ = [
    "Account",
    "Appointment",
    "Base",
    "BlockedNumber",
    "CalendarConnection",
    "CalendarTemplate",
    "CreditEntry",
    "Invitation",
    "MessageTemplate",
    "OAuthFlow",
    "OAuthGrant",
    "Reminder",
    "ReminderRuleRow",
    "SendAttempt",
    "User",
    "UserSession",
]
