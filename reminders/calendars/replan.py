"""Bring a calendar's planned reminders in line with its settings after they change.

A new or removed rule, other quiet hours or another late-send choice change when (and whether)
the reminders of appointments already stored go out. They are re-planned with the very batch
step the horizon job uses (`planning.horizon`): load the appointments with their reminders and
rules, and let `reconcile` create, move, skip or cancel. Nothing here decides a send time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from reminders.appointments.upsert import STATUS_CONFIRMED
from reminders.batching import chunks
from reminders.models import Appointment
from reminders.planning import horizon
from reminders.planning.reconcile import ReconcileCounts


def replan_calendar(
    session: Session, calendar_id: int, *, now: datetime, within: timedelta
) -> ReconcileCounts:
    """Re-plan the reminders of the calendar's appointments starting from `now` to `now + within`.

    Runs in the caller's transaction, so new settings and their reminders are stored together.
    Appointments further ahead are planned by the horizon job when they come within it.
    """
    ids = list(
        session.scalars(
            select(Appointment.id)
            .where(
                Appointment.calendar_id == calendar_id,
                Appointment.status == STATUS_CONFIRMED,
                Appointment.starts_at >= now,
                Appointment.starts_at < now + within,
            )
            .order_by(Appointment.starts_at)
        )
    )
    total = ReconcileCounts()
    for chunk in chunks(ids):
        # The horizon job's own batch step: one planner, whoever asks for a plan.
        total.add(horizon.plan_appointments(session, chunk, now))
    return total
