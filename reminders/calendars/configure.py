"""Saving a calendar's reminder settings: rules and message templates, validated before they are stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from reminders.messaging.templates import validate_template
from reminders.models import CalendarTemplate, MessageTemplate, ReminderRuleRow
from reminders.planning import ReminderRule, RuleKind


def add_rule(session: Session, calendar_id: int, text: str) -> ReminderRuleRow:
    """Add a rule written as "24h", "90m", "1d" or "day-before@18:00"; ValueError says what is wrong."""
    rule = ReminderRule.parse(text)
    row = ReminderRuleRow(
        calendar_id=calendar_id,
        kind=str(rule.kind),
        amount=rule.amount,
        unit=str(rule.unit),
        at_time=rule.at if rule.kind is RuleKind.DAY_BEFORE_AT else None,
        days_before=rule.days_before,
    )
    session.add(row)
    session.flush()
    return row


def save_template(
    session: Session,
    account_id: int,
    *,
    name: str,
    language: str,
    body: str,
    now: datetime,
    template_id: int | None = None,
) -> MessageTemplate:
    """Create or update a template; `TemplateError` (shown to the user as is) when the body is not valid."""
    validate_template(body)
    template = session.get(MessageTemplate, template_id) if template_id is not None else None
    if template is None or template.account_id != account_id:
        template = MessageTemplate(account_id=account_id, created_at=now)
        session.add(template)
    template.name, template.language, template.body, template.updated_at = name.strip(), language, body, now
    session.flush()
    return template


def use_template(session: Session, calendar_id: int, template: MessageTemplate) -> CalendarTemplate:
    """Make `template` the calendar's template for the template's language (replacing the previous one)."""
    row = session.scalars(
        select(CalendarTemplate).where(
            CalendarTemplate.calendar_id == calendar_id, CalendarTemplate.language == template.language
        )
    ).first()
    if row is None:
        row = CalendarTemplate(calendar_id=calendar_id, language=template.language, template_id=template.id)
        session.add(row)
    row.template_id = template.id
    session.flush()
    return row
