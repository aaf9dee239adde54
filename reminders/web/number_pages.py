"""(Being built.)"""

from __future__ import annotations

from fastapi import APIRouter

from reminders.web.context import Web


def number_router(web: Web) -> APIRouter:
    """The routes of this area."""
    return APIRouter()
