"""The usage explorer in chromium against a live server, over the demo's provider usage
metrics: at desktop (1280 px) and phone (390 px) width the chart is drawn, the page never
scrolls sideways, each table's CSV download is the table, picking a metric shows it, and no
console error is logged."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from llmledger.auth.writing import writing
from llmledger.ledger import Ledger
from llmledger.providers.demo_usage import write_demo_usage_metrics
from tests.admin.browser import Visitor
from tests.browser.pages import charts_of, headers, horizontal_overflow, table_cells

pytestmark = [pytest.mark.parametrize("backend", ["sqlite"]), pytest.mark.slow]
PAGE = "/admin/llm-costs/providers/usage"
#: where screenshots are kept to be looked at (the test's directory unless told)
SHOTS = "LLMLEDGER_SCREENSHOTS"


@pytest.mark.parametrize("width", [1280, 390])
def test_the_usage_page_draws_fits_and_downloads_its_tables(
    visit, ledger: Ledger, tmp_path: Path, width: int
) -> None:
    with writing(ledger.engine) as conn:
        write_demo_usage_metrics(conn, days=30, now=dt.datetime.now(dt.UTC))
    admin: Visitor = visit("admin")
    admin.page.set_viewport_size({"width": width, "height": 900 if width > 400 else 844})
    assert admin.goto(f"{PAGE}?range=30d&metric=audio_seconds") == 200
    (chart,) = charts_of(admin.page)
    assert chart["drawn"] and chart["points"] == 30
    assert horizontal_overflow(admin.page) == 0
    shots = Path(os.environ.get(SHOTS) or tmp_path)
    admin.page.screenshot(path=str(shots / f"provider-usage-{width}.png"), full_page=True)
    for table_id in ("project", "model", "totals"):
        link = admin.page.locator(f"#table-{table_id} caption a.csv")
        with admin.page.expect_download() as download:
            link.click()
        text = download.value.path().read_text(encoding="utf-8")
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == headers(admin.page, table_id)
        assert rows[1:] == table_cells(admin.page, table_id) and len(rows) > 1, table_id
    # the API's figures are the page's
    api = admin.api(
        "GET",
        "/api/v1/admin/llm-costs/provider-usage",
        params={
            "startDate": (dt.date.today() - dt.timedelta(days=29)).isoformat(),
            "metric": "audio_seconds",
            "groupBy": "model",
        },
    ).json()
    assert [str(r["value"]) for r in api["rows"]] == [
        r[2] for r in table_cells(admin.page, "model")
    ]
    # picking another metric from the totals shows it
    admin.page.locator("#table-totals a", has_text="Code-interpreter sessions").click()
    expect(admin.page.locator("#figure-metric figcaption strong")).to_have_text(
        "Code-interpreter sessions"
    )
    expect(admin.page.locator("select[name=metric]")).to_have_value("code_interpreter_sessions")
    assert horizontal_overflow(admin.page) == 0
