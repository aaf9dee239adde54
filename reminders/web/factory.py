"""`uvicorn --factory reminders.web.factory:app`: the web app without the scheduler."""

from __future__ import annotations

from fastapi import FastAPI

from reminders.bootstrap import build_services
from reminders.settings import get_settings
from reminders.web.app import create_app


def app() -> FastAPI:
    """The web application wired from the environment's settings."""
    return create_app(build_services(get_settings()))
