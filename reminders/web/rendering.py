"""The Jinja environment of the pages: translations, dates in the viewer's language, masked numbers."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from reminders.reports.masking import mask_digits, mask_number
from reminders.web import i18n

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.filters["masked"] = mask_number
# Free text that may quote a client's number (an event title in a sync warning).
TEMPLATES.env.filters["masked_text"] = mask_digits
i18n.install(TEMPLATES.env)
