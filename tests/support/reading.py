"""Reading back what the service stored, and waiting for what it does in the background."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import select

from reminders.bootstrap import Services
from reminders.models import Appointment, Reminder


def all_reminders(services: Services) -> list[Reminder]:
    """Every reminder row, oldest first."""
    with services.factory.begin() as session:
        return list(session.scalars(select(Reminder).order_by(Reminder.id)))


def all_appointments(services: Services) -> list[Appointment]:
    """Every appointment row, oldest first."""
    with services.factory.begin() as session:
        return list(session.scalars(select(Appointment).order_by(Appointment.id)))


def wait_for(condition: Callable[[], bool], *, seconds: float = 15.0, interval: float = 0.05) -> bool:
    """Poll `condition` until it holds (True) or `seconds` pass (False); for work done by other threads."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False
