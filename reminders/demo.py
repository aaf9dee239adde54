"""`reminders demo`: a salon with an ICS calendar full of appointments relative to now."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from sqlalchemy import func, select

from reminders.accounts.passwords import hash_password
from reminders.billing import credit
from reminders.bootstrap import Services
from reminders.calendars.configure import add_rule, save_template, use_template
from reminders.calendars.service import sync_one
from reminders.calendars.sync import SyncReport
from reminders.messaging.templates import DEFAULT_TEMPLATES
from reminders.models import Account, CalendarConnection, User
from reminders.planning import QuietHours

ZONE = "Europe/Zurich"
DEMO_EMAIL = "demo@example.com"
# Known only in development, so `make run` can print it; elsewhere the demo owner gets a random one.
DEV_DEMO_PASSWORD = "demo-salon-password"
SALON = "Salon Demo, Bahnhofstrasse 12, 8001 Zürich"


@dataclass(frozen=True, slots=True)
class DemoAppointment:
    """One appointment of the demo feed, as offsets from now or from a day's start."""

    uid: str
    title: str
    location: str
    description: str
    start: datetime
    minutes: int = 45
    status: str = "CONFIRMED"
    rrule: str | None = None


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What `load_demo` created."""

    account_id: int
    calendar_id: int
    feed: Path
    appointments: int
    sync: SyncReport
    quiet_hours_note: str | None
    email: str = DEMO_EMAIL
    password: str = DEV_DEMO_PASSWORD


def demo_appointments(now: datetime) -> list[DemoAppointment]:
    """About 20 appointments over the next three days, with every case the pipeline handles."""
    zone = ZoneInfo(ZONE)
    local_now = now.astimezone(zone)
    mobiles = [
        "079 123 45 67", "+41 78 234 56 78", "0041 76 345 67 89", "077 456 78 90", "+41 79 567 89 01",
        "078 678 90 12", "076 789 01 23", "+41 77 890 12 34", "079 901 23 45", "078 012 34 56",
        "076 135 79 13", "077 246 80 24", "079 357 91 35", "+41 78 468 02 46",
    ]  # fmt: skip
    services = ["Haarschnitt", "Färben", "Manicure", "Bartpflege", "Strähnchen", "Föhnen", "Pediküre"]
    clients = ["Anna Muster", "Luca Rossi", "Sophie Meier", "Noah Keller", "Mia Frei", "Elias Brunner",
               "Lea Huber", "Leon Baumann", "Emma Graf", "Nina Wyss", "Jonas Roth", "Lara Kunz",
               "David Zürcher", "Sara Lüthi"]  # fmt: skip
    items: list[DemoAppointment] = [
        # Their 2-hour reminders fall due two and four minutes after the demo starts.
        DemoAppointment("demo-soon-1", "Haarschnitt Anna Muster", "079 111 22 33", "",
                        now + timedelta(hours=2, minutes=2)),
        DemoAppointment("demo-soon-2", "Färben Luca Rossi", SALON, "Mobile: +41 78 222 33 44",
                        now + timedelta(hours=2, minutes=4)),
    ]  # fmt: skip
    slots = [time(9, 0), time(10, 30), time(13, 30), time(15, 0), time(16, 30)]
    day = 1
    for index, (number, client) in enumerate(zip(mobiles, clients, strict=True)):
        slot = slots[index % len(slots)]
        if index and index % len(slots) == 0:
            day += 1
        start = datetime.combine(local_now.date() + timedelta(days=day), slot, tzinfo=zone)
        kind = services[index % len(services)]
        if index % 3 == 0:
            location, description = number, ""
        elif index % 3 == 1:
            location, description = SALON, f"<p>Kundin: {client}<br>Tel: {number}</p>"
        else:
            location, description = SALON, f"Kunde {client}, {number}, bezahlt CHF 85.00"
        items.append(DemoAppointment(f"demo-{index}", f"{kind} {client}", location, description, start))
    tomorrow = local_now.date() + timedelta(days=1)
    items += [
        DemoAppointment("demo-landline", "Haarschnitt Praxis Dr. Huber", "Tel. 044 668 18 00", "",
                        datetime.combine(tomorrow, time(11, 45), tzinfo=zone)),
        DemoAppointment("demo-no-number", "Beratung Frau Schneider", SALON, "Kundin ruft vorher an",
                        datetime.combine(tomorrow, time(12, 15), tzinfo=zone)),
        DemoAppointment("demo-cancelled", "Färben Herr Weber", "079 999 88 77", "",
                        datetime.combine(tomorrow, time(17, 0), tzinfo=zone), status="CANCELLED"),
        DemoAppointment("demo-weekly", "Massage (wöchentlich) Frau Sutter", "+41 79 444 55 66", "",
                        datetime.combine(tomorrow, time(18, 0), tzinfo=zone), rrule="FREQ=DAILY;COUNT=3"),
    ]  # fmt: skip
    return items


def demo_feed(now: datetime) -> bytes:
    """The demo calendar as an iCalendar document."""
    calendar = Calendar()
    calendar.add("prodid", "-//reminders//demo//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "Demo Salon")
    calendar.add("x-wr-timezone", ZONE)
    for item in demo_appointments(now):
        event = Event()
        event.add("uid", item.uid)
        event.add("summary", item.title)
        event.add("location", item.location)
        if item.description:
            event.add("description", item.description)
        event.add("dtstart", item.start.astimezone(ZoneInfo(ZONE)))
        event.add("dtend", item.start.astimezone(ZoneInfo(ZONE)) + timedelta(minutes=item.minutes))
        event.add("dtstamp", now)
        event.add("status", item.status)
        if item.rrule:
            event.add("rrule", dict(part.split("=") for part in item.rrule.split(";")))
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def database_is_empty(services: Services) -> bool:
    """True before any account exists."""
    with services.factory.begin() as session:
        return not session.scalar(select(func.count()).select_from(Account))


def load_demo(services: Services, *, now: datetime | None = None) -> DemoSummary:
    """Create "Demo Salon" with its ICS calendar, two rules and 10 SMS of credit, then sync it once."""
    now = now or services.clock()
    data_dir = services.settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    feed = (data_dir / "demo-salon.ics").resolve()
    feed.write_bytes(demo_feed(now))
    note = None
    password = DEV_DEMO_PASSWORD if services.settings.env != "production" else secrets.token_urlsafe(12)
    quiet = QuietHours()
    if quiet.contains(now.astimezone(ZoneInfo(ZONE)).time()):
        note = (
            "It is night in Zurich, so quiet hours (21:00-08:00) would hold every reminder until morning; "
            "the demo account has quiet hours switched off so you can watch reminders go out now."
        )
    with services.factory.begin() as session:
        account = Account(
            name="Demo Salon", home_region="CH", timezone=ZONE, language="de", sender_name="DemoSalon"
        )
        if note:
            account.quiet_start = account.quiet_end = time(0, 0)
        session.add(account)
        session.flush()
        session.add(
            User(
                account_id=account.id,
                email=DEMO_EMAIL,
                name="Demo",
                password_hash=hash_password(password),
                role="owner",
                language="de",
                email_confirmed_at=now,
                created_at=now,
            )
        )
        template = save_template(
            session,
            account.id,
            name="Standard (Deutsch)",
            language="de",
            body=DEFAULT_TEMPLATES["de"],
            now=now,
        )
        connection = CalendarConnection(
            account_id=account.id,
            provider="ics",
            external_id=str(feed),
            name="Termine Salon",
        )
        session.add(connection)
        session.flush()
        use_template(session, connection.id, template)
        for rule in ("24h", "2h"):
            add_rule(session, connection.id, rule)
        credit.grant(session, account.id, 10, kind="grant", now=now, note="demo credit")
        account_id, calendar_id = account.id, connection.id
    report = sync_one(services, calendar_id)
    return DemoSummary(
        account_id, calendar_id, feed, len(demo_appointments(now)), report, note, DEMO_EMAIL, password
    )
