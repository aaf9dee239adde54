"""The reminder language in Chromium (issue 10, item 4): asked on the sign-up form apart from the
page language, named in the business settings, and said on the template list and the calendar
page once a German template is chosen, on a desktop and a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, ViewportSize, expect
from sqlalchemy import select

from reminders.calendars.configure import save_template, use_template
from reminders.models import Account, User
from tests.browser.conftest import LiveApp, PageGuard, Screenshots
from tests.support.factories import make_calendar
from tests.support.web import link_in, sent_mails

EMAIL = "lea@salon-lea.example"
PASSWORD = "Haarschnitt-2026!"
VIEWPORTS = {"desktop": ViewportSize(width=1280, height=800), "phone": ViewportSize(width=390, height=844)}


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_an_english_reader_signs_up_for_german_reminders_and_sees_them_named(
    live_app: LiveApp, browser: Browser, guard: PageGuard, screenshots: Screenshots, device: str
) -> None:
    context = browser.new_context(locale="en-US", viewport=VIEWPORTS[device])
    context.set_default_timeout(10_000)
    page = guard.watch(context.new_page())
    try:
        page.goto(live_app.url("/signup"))
        page.get_by_label("Business name").fill("Salon Lea")
        page.get_by_label("E-mail address").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        expect(page.get_by_label("Language of these pages")).to_have_value("en")
        reminders = page.get_by_label("Language of the reminders")
        expect(reminders).to_have_value("en")  # proposed from the browser, and shown
        reminders.select_option("de")
        screenshots.take(page, f"{device}-signup")
        page.get_by_role("button", name="Create account").click()
        expect(page).to_have_url(re.compile(r"/signup/sent$"))

        (mail,) = sent_mails(live_app.services)
        page.goto(live_app.url(link_in(mail)))
        page.get_by_label("E-mail address").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Overview")

        page.goto(live_app.url("/account"))
        expect(page.get_by_label("Language of the reminders")).to_have_value("de")
        expect(page.get_by_label("Sender name")).to_have_value("Salon Lea")
        expect(page.get_by_label("Time zone")).to_have_attribute("list", "zones")
        screenshots.take(page, f"{device}-settings")

        with live_app.services.factory.begin() as session:
            user = session.scalars(select(User).where(User.email == EMAIL)).one()
            account = session.get_one(Account, user.account_id)
            account.language = "en"  # the case of the report: English reminders for the account ...
            calendar = make_calendar(session, account, name="Salon Stuhl 1")
            template = save_template(
                session,
                account.id,
                name="Deutsch kurz",
                language="de",
                body="Termin {date}",
                now=live_app.clock(),
            )
            use_template(session, calendar.id, template)  # ... and a German template chosen
            calendar_id = calendar.id

        page.goto(live_app.url("/templates"))
        expect(page.get_by_role("row").filter(has_text="Deutsch kurz")).to_contain_text(
            "Salon Stuhl 1 (for Deutsch, its default language)"
        )
        screenshots.take(page, f"{device}-templates")
        page.goto(live_app.url(f"/calendars/{calendar_id}"))
        expect(page.get_by_label("Language of the reminders")).to_have_value("")
        expect(page.locator("[data-default-language]")).to_have_text(
            "By default this calendar's reminders go out in Deutsch: "
            "the calendar has templates chosen for this language only."
        )
        screenshots.take(page, f"{device}-calendar")
        guard.check()
    finally:
        context.close()
