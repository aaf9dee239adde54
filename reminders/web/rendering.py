"""The Jinja environment of the pages, and a page for messages and errors."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from reminders.web import queries

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.filters["masked"] = queries.mask_number


def message_page(request: Request, title: str, text: str, *, status_code: int = 200) -> Response:
    """A plain page that says what happened and links back home."""
    return TEMPLATES.TemplateResponse(
        request, "message.html", {"title": title, "text": text}, status_code=status_code
    )
