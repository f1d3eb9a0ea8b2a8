"""The alert form in chromium for reconciliation_drift: choosing the type hides the fields it
cannot hold (organisation, agent, user, model, zone, action, dollar thresholds) and shows its
threshold; what is saved is in the API; a field the API refuses shows its message."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.admin.browser import Visitor

pytestmark = [pytest.mark.parametrize("backend", ["sqlite"]), pytest.mark.slow]
PAGE = "/admin/llm-costs/alerts"
API = "/api/v1/admin/llm-costs/alerts"


def test_the_form_shows_a_drift_rule_its_own_fields_and_saves_it(visit) -> None:
    admin: Visitor = visit("admin")
    admin.goto(f"{PAGE}/new")
    form = admin.page.locator("#alert-form")
    form.locator('[name="alertType"]').select_option("daily_limit")
    expect(form.locator('[name="orgId"]')).to_be_visible()
    form.locator('[name="alertType"]').select_option("reconciliation_drift")
    for name in ("orgId", "agent", "userId", "model", "timezone", "action", "thresholdCents"):
        expect(form.locator(f'[name="{name}"]')).to_be_hidden()
    expect(form.locator('[name="provider"]')).to_be_visible()
    expect(form.locator('[name="thresholdPercent"]')).to_be_visible()
    expect(form.get_by_text("Tracked and billed apart by more than (%)")).to_be_visible()
    expect(form.get_by_text("Failed share (%)")).to_be_hidden()
    form.locator('[name="name"]').fill("Invoice drift")
    form.locator('[name="provider"]').fill("mistral")
    admin.allow(422)
    form.locator("button[type=submit]").click()
    expect(form.locator(".field-error")).to_contain_text("must be one of openai, anthropic, groq")
    form.locator('[name="provider"]').fill("Groq")
    form.locator('[name="thresholdPercent"]').fill("5")
    form.locator('[name="notificationEmails"]').fill("finance@example.com")
    form.locator("button[type=submit]").click()
    admin.page.wait_for_url(f"**{PAGE}")
    card = admin.page.locator('#rules li[data-name="Invoice drift"]')
    expect(card).to_contain_text("Reconciliation drift")
    expect(card).to_contain_text("tracked and billed 5.00% apart on a settled day of groq")
    (rule,) = [r for r in admin.api("GET", API).json()["rules"] if r["name"] == "Invoice drift"]
    assert rule["alertType"] == "reconciliation_drift" and rule["scope"] == {"provider": "groq"}
    assert (rule["thresholdPercent"], rule["timezone"], rule["action"]) == (5, "UTC", "notify")
    assert rule["notificationEmails"] == ["finance@example.com"]
