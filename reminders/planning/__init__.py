"""Reminder planning: when each reminder of an appointment goes out. Pure: no DB, no clock, no network."""

from reminders.planning.plan import AppointmentSlot, PlannedReminder, PlanningPolicy, due_time, plan
from reminders.planning.quiet_hours import QuietHours
from reminders.planning.rules import MAX_LEAD, OffsetUnit, ReminderRule, RuleKind

__all__ = [
    "MAX_LEAD",
    "AppointmentSlot",
    "OffsetUnit",
    "PlannedReminder",
    "PlanningPolicy",
    "QuietHours",
    "ReminderRule",
    "RuleKind",
    "due_time",
    "plan",
]
