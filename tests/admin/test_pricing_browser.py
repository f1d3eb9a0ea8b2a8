"""The pricing page in chromium against a live server: an inline edit becomes a manual row in the
API with both rows in its history, a re-price started from the page changes the stored costs by
the expected amount, a LiteLLM sync from an uploaded file shows its preview and then its rows,
manual entries and deletions, and the fallback price."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from tests.admin.browser import Visitor
from tests.pricing.litellm_fixture import CATALOG

pytestmark = [pytest.mark.parametrize("backend", ["sqlite"]), pytest.mark.slow]
PAGE = "/admin/llm-costs/pricing"
API = "/api/v1/admin/pricing"


def _events(ledger: Ledger, model: str, days_ago: int, n: int) -> dt.datetime:
    at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=days_ago)
    ledger.write(
        [
            UsageEvent(
                event_id=uuid.uuid4(),
                timestamp=at,
                provider="openai",
                model=model,
                org_id="acme",
                input_tokens=1_000_000,
                output_tokens=0,
            )
            for _ in range(n)
        ]
    )
    return at


def _row(v: Visitor, model: str):  # type: ignore[no-untyped-def]
    return v.page.locator(f'#table-models tr[data-provider="openai"][data-model="{model}"]')


def _cost(v: Visitor, start: dt.date) -> Decimal:
    r = v.api("GET", "/api/v1/admin/llm-costs/global", params={"startDate": start.isoformat()})
    return Decimal(str(r.json()["costUsd"]))


def test_an_inline_edit_is_a_manual_row_and_a_reprice_moves_costs(visit, ledger: Ledger) -> None:
    # two 1M-input-token requests of gpt-4o-mini, priced at the bundled $0.15 per 1M
    _events(ledger, "gpt-4o-mini", days_ago=3, n=2)
    start = dt.date.today() - dt.timedelta(days=10)
    admin: Visitor = visit("admin")
    before = _cost(admin, start)
    assert before == Decimal("0.3")
    admin.goto(f"{PAGE}?search=gpt-4o-mini&provider=openai")
    row = _row(admin, "gpt-4o-mini")
    old_id = int(row.get_attribute("data-id") or 0)
    row.locator("[data-edit]").click()
    row.locator('input[name="inputPerMillion"]').fill("0.45")
    week_ago = (dt.date.today() - dt.timedelta(days=7)).isoformat()
    row.locator('input[name="effectiveFrom"]').fill(week_ago)
    row.locator("[data-save]").click()
    expect(row.locator('[data-cell="source"]')).to_have_text("Manual")
    expect(row.locator('td[data-field="inputPerMillion"]')).to_have_text("$0.45")

    # the API has the manual row in force, and the history both rows
    manual = admin.api("GET", f"{API}/models", params={"search": "gpt-4o-mini", "source": "manual"})
    (made,) = [m for m in manual.json()["models"] if m["model"] == "gpt-4o-mini"]
    assert made["inputPerMillion"] == "0.45" and made["effectiveFrom"].startswith(week_ago)
    assert int(row.get_attribute("data-id") or 0) == made["id"] != old_id
    history = admin.page.locator('[data-history-of="gpt-4o-mini"] tbody tr')
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("Manual")
    expect(history.first).to_contain_text("in force")
    expect(history.nth(1)).to_contain_text("Bundled")

    # the page offers the re-price; it runs as a job and the page follows it to the end
    offer = admin.page.locator("#edit-result .offer")
    expect(offer).to_contain_text("2 stored events")
    offer.locator("[data-reprice-now]").click()
    expect(offer.locator('[data-state="done"]')).to_be_visible()
    expect(offer).to_contain_text("Events changed2")
    expect(offer.locator("[data-delta]")).to_have_text("$0.60")
    # 2 requests of 1M tokens at $0.45 - $0.15 per 1M
    assert _cost(admin, start) - before == Decimal("0.6")


def test_a_litellm_sync_from_an_uploaded_file_previews_then_applies(visit, tmp_path: Path) -> None:
    catalog = tmp_path / "litellm.json"
    catalog.write_text(json.dumps(CATALOG))
    admin: Visitor = visit("admin")
    admin.goto(PAGE)
    admin.page.locator("#sync summary").click()
    admin.page.set_input_files('#sync-form input[name="file"]', str(catalog))
    admin.page.locator("#sync-form button[type=submit]").click()
    preview = admin.page.locator("#sync-preview")
    expect(preview).to_contain_text("Preview of")
    added = int(preview.locator('[data-count="added"]').inner_text())
    assert added >= 10
    expect(preview).to_contain_text("acme-noisy")
    # nothing has changed yet
    before = admin.api("GET", f"{API}/models", params={"source": "litellm"}).json()
    assert before["total"] == 0
    preview.locator("[data-apply-sync]").click()
    expect(admin.page.locator(".toast", has_text=f"Synced: {added} added")).to_be_visible()
    after = admin.api("GET", f"{API}/models", params={"source": "litellm"}).json()
    assert after["total"] == added
    admin.goto(f"{PAGE}?search=acme-noisy")
    expect(admin.page.locator('#table-models tr[data-model="acme-noisy"] .tag')).to_have_text(
        "LiteLLM"
    )


def test_a_manual_entry_is_added_and_deleted_from_the_page(visit) -> None:
    admin: Visitor = visit("admin")
    admin.goto(PAGE)
    admin.page.locator("#add-manual summary").click()
    form = admin.page.locator("#add-manual form")
    form.locator('[name="provider"]').fill("acme")
    form.locator('[name="model"]').fill("acme-brain-1")
    form.locator('[name="inputPerMillion"]').fill("1.5")
    form.locator('[name="outputPerMillion"]').fill("6")
    form.locator('[name="tiers.0.aboveInputTokens"]').fill("200000")
    form.locator('[name="tiers.0.inputPerMillion"]').fill("3")
    form.locator("button[type=submit]").click()
    expect(admin.page.locator("#add-result")).to_contain_text("In force: acme/acme-brain-1")
    (row,) = admin.api("GET", f"{API}/models", params={"search": "acme-brain-1"}).json()["models"]
    assert (row["source"], row["inputPerMillion"], row["outputPerMillion"]) == (
        "manual",
        "1.5",
        "6",
    )
    (tier,) = row["tiers"]
    assert (tier["aboveInputTokens"], tier["inputPerMillion"]) == (200000, "3")

    # a bad price is refused with the API's message beside its field
    form.locator('[name="model"]').fill("acme-brain-2")
    form.locator('[name="inputPerMillion"]').fill("lots")
    admin.allow(422)
    form.locator("button[type=submit]").click()
    expect(form.locator(".field-error")).to_contain_text("valid decimal")
    expect(form.locator('[name="inputPerMillion"]')).to_have_attribute("aria-invalid", "true")

    admin.goto(f"{PAGE}?search=acme-brain-1")
    admin.page.locator('tr[data-model="acme-brain-1"] [data-delete]').click()
    admin.confirm("Delete")
    expect(admin.page.locator(".toast", has_text="Manual price deleted")).to_be_visible()
    found = admin.api("GET", f"{API}/models", params={"search": "acme-brain-1"}).json()
    assert found["total"] == 0


def test_the_fallback_price_is_saved_from_its_form(visit) -> None:
    admin: Visitor = visit("admin")
    admin.goto(PAGE)
    form = admin.page.locator("#fallback form")
    form.locator('[name="inputPerMillion"]').fill("7")
    form.locator('[name="outputPerMillion"]').fill("21")
    form.locator("button[type=submit]").click()
    expect(admin.page.locator("#fallback-now")).to_contain_text("input $7, output $21")
    answer = admin.api("GET", f"{API}/fallback").json()
    assert (answer["inputPerMillion"], answer["outputPerMillion"]) == ("7", "21")


def test_an_unpriced_model_gets_a_price_and_its_history_is_repriced(visit, ledger: Ledger) -> None:
    seen = _events(ledger, "house-model-9", days_ago=2, n=3)
    start = dt.date.today() - dt.timedelta(days=10)
    admin: Visitor = visit("admin")
    admin.goto(PAGE)
    row = admin.page.locator('#unpriced tr[data-model="house-model-9"]')
    row.locator("[data-add-price]").click()
    form = admin.page.locator("#add-manual form")
    expect(form.locator('[name="model"]')).to_have_value("house-model-9")
    form.locator('[name="inputPerMillion"]').fill("1")
    form.locator('[name="outputPerMillion"]').fill("1")
    form.locator('[name="effectiveFrom"]').fill((seen.date() - dt.timedelta(days=1)).isoformat())
    form.locator("button[type=submit]").click()
    offer = admin.page.locator("#add-result .offer")
    expect(offer).to_contain_text("3 stored events")
    before = _cost(admin, start)
    offer.locator("[data-reprice-now]").click()
    expect(offer.locator('[data-state="done"]')).to_be_visible()
    # three 1M-token requests: from the $10 fallback to $1 per 1M
    assert before - _cost(admin, start) == Decimal("27")
    admin.goto(PAGE)
    expect(admin.page.locator("#table-runs tbody tr").first).to_contain_text("done")
