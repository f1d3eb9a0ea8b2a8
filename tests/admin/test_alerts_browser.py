"""The alerts pages in chromium against a live server: a rule made through the form is in the
API with every field, and changed through it; a bad field shows the API's message beside it;
the test button delivers to a local HTTP receiver and shows each channel's result; rules are
enabled, disabled and deleted from their cards; a viewer sees state and no controls, and the
admin routes it tries answer 403; an org admin sees and changes only its own organisation's
rules; no page scrolls sideways at 390 px; no console errors anywhere."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from llmledger.alerts.check import check
from llmledger.ledger import Ledger
from llmledger.settings import Settings
from tests.admin.browser import Visitor
from tests.alerts.receivers import HttpReceiver, wait_until
from tests.alerts.support import spend

pytestmark = [pytest.mark.parametrize("backend", ["sqlite"]), pytest.mark.slow]
PAGE = "/admin/llm-costs/alerts"
API = "/api/v1/admin/llm-costs/alerts"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Webhooks may go to the receivers on 127.0.0.1."""
    return settings.model_copy(update={"allow_private_webhooks": True})


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as r:
        yield r


def _make(v: Visitor, **fields: Any) -> dict[str, Any]:
    body = {"name": "rule", "alertType": "daily_limit", "thresholdCents": 10_000, **fields}
    r = v.api("POST", API, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _card(v: Visitor, name: str):  # type: ignore[no-untyped-def]
    return v.page.locator(f'#rules li[data-name="{name}"]')


def test_an_alert_made_in_the_form_is_in_the_api_with_every_field(
    visit, receiver: HttpReceiver
) -> None:
    admin: Visitor = visit("admin")
    admin.goto(f"{PAGE}/new")
    form = admin.page.locator("#alert-form")
    # the fields of a type show once it is chosen
    expect(form.locator('[name="thresholdCents"]')).to_be_hidden()
    form.locator('[name="alertType"]').select_option("daily_limit")
    expect(form.locator('[name="thresholdCents"]')).to_be_visible()
    expect(form.locator('[name="spikePercent"]')).to_be_hidden()
    for name, value in (
        ("name", "Acme support daily"),
        ("orgId", "acme"),
        ("agent", "support"),
        ("userId", "u-7"),
        ("provider", "OpenAI"),
        ("model", "gpt-4o"),
        ("thresholdCents", "1,234.5"),
        ("warningPercent", "75"),
        ("notificationEmails", "ops@example.com\nfinance@example.com"),
        ("slackWebhookUrl", receiver.url("/slack/T0/B0/abcd1234")),
        ("webhookUrl", receiver.url("/hook/wxyz9876")),
        ("timezone", "Asia/Kolkata"),
    ):
        form.locator(f'[name="{name}"]').fill(value)
    form.locator('[name="notificationFrequency"]').select_option("hourly")
    form.locator('[name="action"]').select_option("block")
    form.locator('[name="isActive"]').uncheck()
    form.locator("button[type=submit]").click()
    # the webhook's signing secret, shown this once
    box = admin.page.locator("#webhook-secret")
    expect(box).to_be_visible()
    secret = box.locator("code").inner_text()
    assert secret.startswith("whsec_")
    box.locator("[data-close-secret]").click()
    admin.page.wait_for_url(f"**{PAGE}")
    expect(admin.page.locator(".toast", has_text="Alert created")).to_be_visible()
    card = _card(admin, "Acme support daily")
    expect(card.locator(".badge")).to_have_text("inactive")

    rules = admin.api("GET", API).json()["rules"]
    (rule,) = [r for r in rules if r["name"] == "Acme support daily"]
    assert {k: rule[k] for k in rule if k not in ("id", "createdAt", "updatedAt")} == {
        "name": "Acme support daily",
        "orgId": "acme",
        "agent": "support",
        "userId": "u-7",
        "provider": "openai",
        "model": "gpt-4o",
        "alertType": "daily_limit",
        "thresholdCents": 123_450,
        "warningPercent": 75,
        "spikePercent": None,
        "minCostCents": None,
        "thresholdPercent": None,
        "minRequests": None,
        "notificationEmails": ["ops@example.com", "finance@example.com"],
        "slackWebhookUrl": "****1234",
        "webhookUrl": "****9876",
        "webhookSecret": "****" + secret[-4:],
        "notificationFrequency": "hourly",
        "isActive": False,
        "timezone": "Asia/Kolkata",
        "action": "block",
        "scope": {
            "orgId": "acme",
            "agent": "support",
            "userId": "u-7",
            "provider": "openai",
            "model": "gpt-4o",
        },
    }

    # changed through the edit form: another type, a scope field emptied, the Slack URL kept
    card.locator("[data-edit]").click()
    form = admin.page.locator("#alert-form")
    expect(form.locator('[name="thresholdCents"]')).to_have_value("1234.50")
    form.locator('[name="alertType"]').select_option("cost_spike")
    expect(form.locator('[name="thresholdCents"]')).to_be_hidden()
    form.locator('[name="spikePercent"]').fill("300")
    form.locator('[name="minCostCents"]').fill("2.5")
    form.locator('[name="agent"]').fill("")
    form.locator('[data-clear="webhookUrl"]').check()
    form.locator('[name="isActive"]').check()
    form.locator("button[type=submit]").click()
    admin.page.wait_for_url(f"**{PAGE}")
    expect(admin.page.locator(".toast", has_text="Alert saved")).to_be_visible()
    changed = admin.api("GET", f"{API}/{rule['id']}").json()
    assert (changed["alertType"], changed["spikePercent"], changed["minCostCents"]) == (
        "cost_spike",
        300,
        250,
    )
    assert changed["thresholdCents"] is None and changed["agent"] is None
    assert changed["slackWebhookUrl"] == "****1234" and changed["webhookUrl"] is None
    assert changed["isActive"] is True and changed["warningPercent"] == 75
    expect(_card(admin, "Acme support daily").locator(".badge")).to_have_text("OK")


def test_a_bad_field_shows_the_apis_message_beside_it(visit) -> None:
    admin: Visitor = visit("admin")
    admin.goto(f"{PAGE}/new")
    form = admin.page.locator("#alert-form")
    form.locator('[name="name"]').fill("Broken")
    form.locator('[name="alertType"]').select_option("monthly_limit")
    form.locator('[name="timezone"]').fill("Mars/Base")
    form.locator('[name="notificationEmails"]').fill("not an address")
    admin.allow(422)
    form.locator("button[type=submit]").click()
    threshold = form.locator('label:has([name="thresholdCents"]) .field-error')
    expect(threshold).to_have_text("is required for monthly_limit")
    expect(form.locator('label:has([name="timezone"]) .field-error')).to_contain_text(
        "is not an IANA timezone name"
    )
    expect(form.locator('label:has([name="notificationEmails"]) .field-error')).to_be_visible()
    expect(form.locator('[name="timezone"]')).to_have_attribute("aria-invalid", "true")
    expect(admin.page.locator(".toast-error")).to_contain_text("Not saved")
    # a threshold that is no amount is the API's to refuse, and it says so by the field
    form.locator('[name="thresholdCents"]').fill("lots")
    form.locator('[name="timezone"]').fill("UTC")
    form.locator('[name="notificationEmails"]').fill("")
    form.locator("button[type=submit]").click()
    expect(threshold).to_contain_text("valid integer")
    assert not [r for r in admin.api("GET", API).json()["rules"] if r["name"] == "Broken"]


def test_the_test_button_delivers_and_shows_each_channels_result(
    visit, receiver: HttpReceiver
) -> None:
    admin: Visitor = visit("admin")
    receiver.status["/down"] = 500
    _make(admin, name="Tested", webhookUrl=receiver.url("/hook"))
    _make(
        admin,
        name="Half down",
        webhookUrl=receiver.url("/hook2"),
        slackWebhookUrl=receiver.url("/down"),
    )
    _make(admin, name="Silent")
    admin.goto(PAGE)
    card = _card(admin, "Tested")
    card.locator("[data-test-rule]").click()
    result = card.locator("[data-test-result]")
    expect(result.locator('li[data-channel="webhook"][data-ok="true"]')).to_contain_text(
        "webhook delivered"
    )
    expect(admin.page.locator(".toast", has_text="Test delivered to 1 channel")).to_be_visible()
    wait_until(lambda: len(receiver.at("/hook")) == 1, "the test webhook")
    sent = json.loads(receiver.at("/hook")[0].body)
    assert "Tested" in json.dumps(sent)

    half = _card(admin, "Half down")
    half.locator("[data-test-rule]").click()
    expect(half.locator('li[data-channel="slack"][data-ok="false"]')).to_contain_text("failed")
    expect(half.locator('li[data-channel="webhook"][data-ok="true"]')).to_be_visible()
    expect(admin.page.locator(".toast-error", has_text="1 of 2 channels failed")).to_be_visible()

    admin.allow(422)
    silent = _card(admin, "Silent")
    silent.locator("[data-test-rule]").click()
    expect(silent.locator("[data-test-result]")).to_contain_text("has no channels")


def test_rules_are_disabled_enabled_and_deleted_from_their_cards(visit) -> None:
    admin: Visitor = visit("admin")
    rule = _make(admin, name="Switchable")
    admin.goto(PAGE)
    card = _card(admin, "Switchable")
    card.locator("[data-toggle]", has_text="Disable").click()
    expect(card.locator(".badge")).to_have_text("inactive")
    assert admin.api("GET", f"{API}/{rule['id']}").json()["isActive"] is False
    card.locator("[data-toggle]", has_text="Enable").click()
    expect(card.locator(".badge")).to_have_text("OK")
    card.locator("[data-delete]").click()
    admin.page.locator("dialog.confirm button.ghost").click()  # cancelled: nothing happens
    assert admin.api("GET", f"{API}/{rule['id']}").status_code == 200
    card.locator("[data-delete]").click()
    admin.confirm("Delete")
    expect(admin.page.locator(".toast", has_text="Alert deleted")).to_be_visible()
    expect(_card(admin, "Switchable")).to_have_count(0)
    assert admin.api("GET", f"{API}/{rule['id']}").status_code == 404


def _call(v: Visitor, method: str, path: str, body: Any = None) -> int:
    """A call from the page itself, with its session and CSRF token (as its script would)."""
    status: int = v.page.evaluate(
        """([method, path, body]) => fetch(path, {method, credentials: "same-origin",
             headers: {"Content-Type": "application/json", "X-CSRF-Token":
               (document.querySelector('meta[name="csrf-token"]') || {}).content || ""},
             body: body === null ? undefined : JSON.stringify(body)}).then(r => r.status)""",
        [method, path, body],
    )
    return status


def test_a_viewer_sees_state_and_no_controls(visit) -> None:
    admin: Visitor = visit("admin")
    mine = _make(admin, name="Acme watched", orgId="acme")
    _make(admin, name="Globex hidden", orgId="globex")
    viewer: Visitor = visit("viewer", "acme")
    viewer.goto(PAGE)
    card = _card(viewer, "Acme watched")
    expect(card.locator(".badge")).to_have_text("OK")
    expect(card.locator("meter")).to_be_visible()
    expect(_card(viewer, "Globex hidden")).to_have_count(0)
    expect(viewer.page.locator("#rules button, #rules [data-edit]")).to_have_count(0)
    expect(viewer.page.locator(".subnav a", has_text="New alert")).to_have_count(0)
    expect(viewer.page.locator("nav[aria-label=Pages] a", has_text="Alerts")).to_be_visible()
    viewer.allow(403)
    assert viewer.goto(f"{PAGE}/new") == 403
    assert viewer.goto(f"{PAGE}/{mine['id']}/edit") == 403
    viewer.goto(PAGE)
    body = {"name": "x", "alertType": "daily_limit", "thresholdCents": 1}
    assert _call(viewer, "POST", API, body) == 403
    assert _call(viewer, "PUT", f"{API}/{mine['id']}", {"isActive": False}) == 403
    assert _call(viewer, "DELETE", f"{API}/{mine['id']}") == 403
    assert _call(viewer, "POST", f"{API}/{mine['id']}/test") == 403
    assert admin.api("GET", f"{API}/{mine['id']}").json()["isActive"] is True


def test_an_org_admin_changes_only_its_own_rules(visit) -> None:
    admin: Visitor = visit("admin")
    theirs = _make(admin, name="Globex daily", orgId="globex")
    boss: Visitor = visit("org_admin", "acme")
    boss.goto(f"{PAGE}/new")
    form = boss.page.locator("#alert-form")
    expect(form.locator('[name="orgId"]')).to_have_count(0)
    form.locator('[name="name"]').fill("Acme weekly")
    form.locator('[name="alertType"]').select_option("weekly_limit")
    form.locator('[name="thresholdCents"]').fill("50")
    form.locator("button[type=submit]").click()
    boss.page.wait_for_url(f"**{PAGE}")
    expect(_card(boss, "Acme weekly")).to_be_visible()
    expect(_card(boss, "Globex daily")).to_have_count(0)
    (made,) = [r for r in admin.api("GET", API).json()["rules"] if r["name"] == "Acme weekly"]
    assert (made["orgId"], made["thresholdCents"]) == ("acme", 5000)
    _card(boss, "Acme weekly").locator("[data-toggle]").click()
    expect(_card(boss, "Acme weekly").locator(".badge")).to_have_text("inactive")
    assert admin.api("GET", f"{API}/{made['id']}").json()["isActive"] is False
    # another organisation's rule: not found, from the page and through its API
    boss.allow(404)
    assert boss.goto(f"{PAGE}/{theirs['id']}/edit") == 404
    boss.goto(PAGE)
    assert _call(boss, "PUT", f"{API}/{theirs['id']}", {"isActive": False}) == 404
    assert _call(boss, "DELETE", f"{API}/{theirs['id']}") == 404
    assert admin.api("GET", f"{API}/{theirs['id']}").json()["isActive"] is True


def test_no_alerts_page_scrolls_sideways_at_phone_width(
    visit, ledger: Ledger, tmp_path: Path
) -> None:
    admin: Visitor = visit("admin")
    org = "acme-corporation-with-a-long-id"
    rule = _make(
        admin,
        name="A rather long alert rule name for the support agents of acme",
        orgId=org,
        notificationEmails=["operations-team@example.com"],
        webhookUrl="https://hooks.example.com/a/very/long/path/to/the/receiver/of/alerts",
    )
    now = dt.datetime.now(dt.UTC)
    spend(ledger, now - dt.timedelta(seconds=1), "250.123456789", org_id=org)
    check(ledger.engine, now=now)  # CRITICAL: a firing with two deliveries in the history
    admin.page.set_viewport_size({"width": 390, "height": 844})
    for name, path in (
        ("rules", PAGE),
        ("new", f"{PAGE}/new"),
        ("edit", f"{PAGE}/{rule['id']}/edit"),
        ("history", f"{PAGE}/history"),
    ):
        admin.goto(path)
        width = admin.page.evaluate("document.documentElement.scrollWidth")
        # kept in the test's directory to be looked at
        admin.page.screenshot(path=str(tmp_path / f"alerts-{name}-390.png"), full_page=True)
        assert width <= 390, f"{path} is {width}px wide at 390"
