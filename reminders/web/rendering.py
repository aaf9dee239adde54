"""The Jinja environment of the pages: translations, dates in the viewer's language, masked numbers."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from reminders.reports.masking import mask_number
from reminders.web import i18n

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.filters["masked"] = mask_number
i18n.install(TEMPLATES.env)
