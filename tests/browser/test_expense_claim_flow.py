"""A constable claims expenses in a real browser; a mistake is shown inline with the answers kept; his
sergeant approves the claim from the team queue; the constable sees it completed with its history."""
from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import Page, expect

from conftest import LiveServer, sign_in

PURPOSE = "Crown Court attendance, R v Doyle"


def fill_claim(page: Page, postcode: str) -> None:
    """Fill the expense claim start form: one car journey this month."""
    today = dt.date.today()
    page.fill("#f-claim_month", f"{today:%Y-%m}")
    page.fill("#f-purpose", PURPOSE)
    page.check("input[name=vehicle][value=car]")
    page.fill("#f-ytd_business_miles", "1200")
    page.fill("#f-journeys-0-date", today.isoformat())
    page.fill("#f-journeys-0-from_postcode", postcode)
    page.fill("#f-journeys-0-to_postcode", "CH1 2RE")
    page.fill("#f-journeys-0-purpose", "Chester Crown Court")
    page.fill("#f-journeys-0-miles", "42.5")
    page.check("input[name=meal_context][value=none]")


def submit_claim(page: Page, server: LiveServer) -> str:
    """As the signed-in constable: start a claim, get one thing wrong, fix it; returns the reference."""
    page.get_by_role("link", name="New request", exact=True).click()
    page.get_by_role("link", name=re.compile("Expense claim")).click()
    fill_claim(page, postcode="NOT A POSTCODE")
    page.get_by_role("button", name="Send request").click()

    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_contain_text("Tick the box to confirm")
    expect(page.locator("#f-journeys-0-from_postcode-error")).to_be_visible()
    expect(page.locator("#f-purpose")).to_have_value(PURPOSE)  # what was typed is kept
    expect(page.locator("#f-journeys-0-miles")).to_have_value("42.5")
    expect(page.locator("input[name=vehicle][value=car]")).to_be_checked()

    page.fill("#f-journeys-0-from_postcode", "CW9 7TT")
    page.check("#f-declaration")
    page.get_by_role("button", name="Send request").click()
    expect(page.locator(".govuk-panel__title")).to_have_text("Request sent")
    return page.locator("#reference").inner_text().strip()


def test_constable_claims_sergeant_approves_constable_sees_it_completed(
        page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, "jhale")
    reference = submit_claim(page, live_server)
    assert re.fullmatch(r"CHES-\d{6}", reference)

    sign_in(page, live_server, "arahman")
    page.get_by_role("link", name="Team", exact=True).click()
    row = page.locator("tr", has_text=reference)
    expect(row).to_contain_text("Approve expense claim")
    row.locator("textarea[name=comment]").fill("Checked against the duty record.")
    row.get_by_role("button", name=re.compile("^Approve")).click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(reference)
    expect(page.locator("tr", has_text=reference)).to_have_count(0)

    sign_in(page, live_server, "jhale")
    page.get_by_role("link", name="My requests", exact=True).click()
    page.get_by_role("link", name=reference).click()
    expect(page.locator("#request-status")).to_have_text("Completed")
    history = page.locator(".moj-timeline")
    expect(history).to_contain_text("Approve expense claim: Approved")
    expect(history).to_contain_text("Checked against the duty record.")
    expect(history).to_contain_text("Request completed")
    expect(history).to_contain_text("Request submitted")


def test_request_page_draws_the_diagram_with_the_current_step(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, "jhale")
    reference = submit_claim(page, live_server)
    page.get_by_role("link", name=f"Follow {reference}").click()
    diagram = page.locator("#diagram")
    expect(diagram).to_have_attribute("data-diagram-state", "ready")
    expect(diagram.locator('[data-element-id="approve_claim"].muster-active')).to_have_count(1)
    expect(diagram.locator('[data-element-id="check_claim"].muster-done')).to_have_count(1)
