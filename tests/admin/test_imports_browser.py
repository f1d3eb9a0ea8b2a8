"""The imports page in chromium against a live server and the fake OpenAI admin API (real HTTP
on 127.0.0.1, through LLMLEDGER_OPENAI_ADMIN_URL): a key stored through the form, Run now
showing that it runs and then the run ok with its rows in the table, a refused range and a key
the provider refuses worded as the API words them, the key removed after a confirmation; no
console error, and no sideways scroll at 1280 and 390 px."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from llmledger.settings import Settings
from tests.admin.browser import Visitor
from tests.providers import fixtures as fx
from tests.providers.fake_reports import OPENAI_KEY, Script, serve
from tests.providers.test_provider_imports import OPENAI_COSTS, OPENAI_METRICS, OPENAI_USAGE

pytestmark = [pytest.mark.parametrize("backend", ["sqlite"]), pytest.mark.slow]
PAGE = "/admin/llm-costs/providers/imports"
FIRST, LAST = "2026-11-01", "2026-11-03"  # the fixture's days


@pytest.fixture
def fake() -> Iterator[Script]:
    script = Script(copy.deepcopy(fx.OPENAI))
    with serve(script) as url:
        script.url = url  # type: ignore[attr-defined]
        yield script


@pytest.fixture
def settings(settings: Settings, fake: Script) -> Settings:
    url = fake.url  # type: ignore[attr-defined]
    return settings.model_copy(update={"openai_admin_url": url, "anthropic_admin_url": url})


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_ADMIN_KEY", "ANTHROPIC_ADMIN_KEY", "GROQ_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def _card(v: Visitor, provider: str) -> Locator:
    return v.page.locator(f'article.import-provider[data-provider="{provider}"]')


def _first_run(v: Visitor) -> Locator:
    return v.page.locator("#table-runs tbody tr").first


def _cell(row: Locator, n: int) -> Locator:
    return row.locator("td").nth(n)


def _run_now(v: Visitor | Page, since: str, until: str) -> None:
    page = v.page if isinstance(v, Visitor) else v
    card = page.locator('article.import-provider[data-provider="openai"]')
    card.locator('input[name="since"]').fill(since)
    card.locator('input[name="until"]').fill(until)
    card.get_by_role("button", name="Run now").click()


def _no_sideways_scroll(v: Visitor, width: int, shots: Path, name: str) -> None:
    v.page.set_viewport_size({"width": width, "height": 900})
    v.page.screenshot(path=str(shots / f"imports-{name}-{width}.png"), full_page=True)
    wide = v.page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    assert wide <= 0, f"the imports page scrolls {wide}px sideways at {width}px"


def test_a_key_stored_run_now_and_removed_through_the_page(
    visit, fake: Script, tmp_path: Path
) -> None:
    admin: Visitor = visit("admin")
    admin.goto(PAGE)
    openai = _card(admin, "openai")
    expect(openai.locator("[data-key-state]")).to_contain_text("none")
    expect(openai.locator("[data-last-run]")).to_have_text("never")
    expect(admin.page.locator("#table-runs tbody")).to_contain_text("No import has run yet.")

    # the key, through the password field: stored, the field emptied, the key never shown
    openai.locator('input[name="key"]').fill(OPENAI_KEY)
    openai.get_by_role("button", name="Store key").click()
    expect(openai.locator("[data-key-state]")).to_have_text("stored, ends in …enai")
    expect(openai.locator("[data-result]")).to_contain_text("Key stored: it ends in …enai")
    expect(openai.locator('input[name="key"]')).to_have_value("")
    assert OPENAI_KEY not in admin.page.content()
    stored = admin.api("GET", "/api/v1/admin/providers/openai/credentials").json()
    assert stored["keySet"] is True and stored["lastFour"] == "enai"

    # Run now: held halfway by the fake, the card shows that it runs
    fake.gate = "costs"
    _run_now(admin, FIRST, LAST)
    assert fake.arrived.wait(60)
    expect(openai.locator("[data-result] progress")).to_be_visible()
    expect(openai.locator("[data-result]")).to_contain_text("Importing OpenAI…")
    expect(openai.get_by_role("button", name="Run now")).to_be_disabled()
    fake.release.set()
    result = openai.locator("[data-result]")
    expect(result).to_contain_text(
        f"ok: {FIRST} to {LAST}, {len(OPENAI_USAGE)} usage rows, {len(OPENAI_COSTS)} cost rows, "
        f"{len(OPENAI_METRICS)} metric rows."
    )
    expect(openai.locator("[data-result] progress")).to_be_hidden()
    row = _first_run(admin)
    expect(_cell(row, 2)).to_have_text(f"{FIRST} to {LAST}")
    expect(_cell(row, 3)).to_have_text("ok")
    expect(_cell(row, 5)).to_have_text(str(len(OPENAI_USAGE)))
    expect(_cell(row, 6)).to_have_text(str(len(OPENAI_COSTS)))
    expect(_cell(row, 7)).to_have_text(str(len(OPENAI_METRICS)))
    expect(openai.locator("[data-last-run]")).to_contain_text(f"{len(OPENAI_USAGE)} usage rows")
    _no_sideways_scroll(admin, 1280, tmp_path, "ok")
    _no_sideways_scroll(admin, 390, tmp_path, "ok")
    admin.page.set_viewport_size({"width": 1280, "height": 900})
    fake.gate = None

    # a range the API refuses (422) and a key the provider refuses (502), as the API words them
    admin.allow(422)
    _run_now(admin, "2026-11-05", "2026-11-01")
    expect(result).to_contain_text("Not run: ")
    expect(result).to_contain_text("the range is empty")
    admin.allow(502)
    fake.always_fail["/usage/"] = 401
    _run_now(admin, FIRST, LAST)
    expect(result).to_contain_text("Failed: the provider refused or kept failing: ")
    expect(result).to_contain_text("401: this needs an organisation admin key")
    row = _first_run(admin)
    expect(_cell(row, 3)).to_have_text("failed")
    expect(_cell(row, 8)).to_contain_text("this needs an organisation admin key (OPENAI_ADMIN_KEY)")
    runs = admin.api("GET", "/api/v1/admin/imports").json()["runs"]
    assert [r["state"] for r in runs] == ["failed", "ok"]
    _no_sideways_scroll(admin, 1280, tmp_path, "failed")
    _no_sideways_scroll(admin, 390, tmp_path, "failed")

    # removed after a confirmation: the environment variable applies again (none is set)
    openai.get_by_role("button", name="Remove key").click()
    admin.confirm("Remove")
    expect(openai.locator("[data-key-state]")).to_contain_text("none")
    expect(result).to_contain_text("Stored key removed")
    assert admin.api("GET", "/api/v1/admin/providers/openai/credentials").json()["keySet"] is False
    expect(openai.get_by_role("button", name="Remove key")).to_have_count(0)


def test_a_second_run_while_one_runs_is_refused_with_409(visit, fake: Script) -> None:
    admin: Visitor = visit("admin")
    key = {"key": OPENAI_KEY}
    assert admin.api("PUT", "/api/v1/admin/providers/openai/credentials", json=key).is_success
    admin.goto(PAGE)
    fake.gate = "costs"
    _run_now(admin, FIRST, LAST)
    assert fake.arrived.wait(60)
    # another admin's call while the page's run holds the lease
    busy = admin.api("POST", "/api/v1/admin/imports/openai/run", json={"since": FIRST})
    assert busy.status_code == 409
    fake.release.set()
    expect(_card(admin, "openai").locator("[data-result]")).to_contain_text(" ok: ")
    # and the page words a 409 as the API does
    fake.release.clear()
    fake.arrived.clear()
    admin.allow(409)
    held = admin.page.context.new_page()
    held.goto(admin.server.url + PAGE)
    _run_now(held, FIRST, LAST)
    assert fake.arrived.wait(60)
    _run_now(admin, FIRST, LAST)
    result = _card(admin, "openai").locator("[data-result]")
    expect(result).to_contain_text("Not run: another import of this provider is running: ")
    expect(result).to_contain_text("another import is running")
    fake.release.set()
    expect(held.locator('article[data-provider="openai"] [data-result]')).to_contain_text(" ok: ")
    held.close()
