"""The usage explorer page, ``/admin/llm-costs/providers/usage``, in-process: it shows what its
API answers for the same range and metric (tables, chart), each table as CSV, and is for
admins only."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from llmledger.auth.tokens import create_api_token
from llmledger.ledger import Ledger
from llmledger.providers.imports import run_import
from tests.providers import fixtures as fx
from tests.providers.fake_reports import OPENAI_KEY, Script, serve
from tests.providers.test_provider_imports import RANGE, settings_for
from tests.web.page import read_csv, read_page

PAGE = "/admin/llm-costs/providers/usage"
API = "/api/v1/admin/llm-costs/provider-usage"
DAYS = {"startDate": "2026-11-01", "endDate": "2026-11-03"}
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
def imported(ledger: Ledger) -> Ledger:
    with serve(Script(copy.deepcopy(fx.OPENAI))) as url:
        run_import(ledger.engine, settings_for(ledger, url), "openai", key=OPENAI_KEY, **RANGE)
    return ledger


def _api(client: TestClient, admin: dict[str, str], **params: str) -> Any:
    return client.get(API, params={**DAYS, **params}, headers=admin).json()


@sqlite_only
def test_the_page_shows_what_its_api_answers(
    imported: Ledger, client: TestClient, admin: dict[str, str]
) -> None:
    r = client.get(PAGE, params={**DAYS, "metric": "audio_seconds"}, headers=admin)
    assert r.status_code == 200, r.text
    page = read_page(r.text)
    for group in ("day", "project", "model"):
        rows = _api(client, admin, metric="audio_seconds", groupBy=group)["rows"]
        shown = page.tables[group]
        assert shown.column("Seconds") == [str(x["value"]) for x in rows], group
        assert shown.column(group.capitalize()) == [x[group] for x in rows], group
    totals = _api(client, admin)["totals"]
    assert page.tables["totals"].column("In the range") == [str(t["value"]) for t in totals]
    # the chart: every day of the range, the days without usage at 0
    bars = page.charts["metric"]["data"][0]
    assert bars["x"] == ["2026-11-01", "2026-11-02", "2026-11-03"] and bars["y"] == [600, 0, 30]
    # the tab strip names the page, and the JSON link asks the same question
    assert 'aria-current="page">Usage</a>' in r.text
    assert "Range: 2026-11-01 \u2013 2026-11-03, whole UTC days." in r.text
    assert 'name="orgId"' not in r.text  # reports cover every organisation: no scope
    assert f"{API}?startDate=2026-11-01&amp;endDate=2026-11-03&amp;metric=audio_seconds" in r.text


@sqlite_only
def test_every_table_downloads_as_csv_with_the_rows_shown(
    imported: Ledger, client: TestClient, admin: dict[str, str]
) -> None:
    params = {**DAYS, "metric": "images"}
    page = read_page(client.get(PAGE, params=params, headers=admin).text)
    assert set(page.tables) == {"totals", "day", "project", "model"}
    for table in page.tables.values():
        assert table.rows, table.id
        answer = client.get(PAGE, params={**params, "csv": table.id}, headers=admin)
        assert answer.headers["content-type"].startswith("text/csv")
        headers, rows = read_csv(answer.text)
        assert headers == table.headers and rows == table.values(), table.id
    assert client.get(PAGE, params={**params, "csv": "nope"}, headers=admin).status_code == 404


@sqlite_only
def test_without_a_metric_the_first_reported_one_is_shown(
    imported: Ledger, client: TestClient, admin: dict[str, str]
) -> None:
    page = read_page(client.get(PAGE, params=DAYS, headers=admin).text)
    assert page.tables["model"].column("Images") == ["4", "2"]
    # a range with nothing reported says so
    empty = client.get(
        PAGE, params={"startDate": "2026-10-01", "endDate": "2026-10-02"}, headers=admin
    )
    assert "No usage beside tokens was reported in this range." in empty.text


@sqlite_only
def test_bad_parameters_are_clear_422_pages_and_only_admins_may_look(
    ledger: Ledger, client: TestClient, admin: dict[str, str]
) -> None:
    for params, needle in (
        ({"metric": "tokens"}, "metric: &#39;tokens&#39; is not one of"),
        ({"provider": "mistral"}, "provider: must be one of"),
        ({"startDate": "2026-11-05", "endDate": "2026-11-01"}, "endDate"),
    ):
        r = client.get(PAGE, params=params, headers=admin)
        assert r.status_code == 422 and needle in r.text, (params, r.text[-500:])
    with ledger.engine.begin() as conn:
        viewer = create_api_token(conn, role="viewer", name="v", org_id="proj_a")[1]
    r = client.get(PAGE, headers={"Authorization": f"Bearer {viewer}"})
    assert r.status_code == 403
    anonymous = client.get(PAGE, follow_redirects=False)
    assert anonymous.status_code in (302, 303) and "/login" in anonymous.headers["location"]
    # /providers opens the first tab (reconciliation); this page's is among the tabs
    opened = client.get("/admin/llm-costs/providers", headers=admin, follow_redirects=False)
    assert opened.headers["location"].startswith("/admin/llm-costs/providers/reconciliation")
    tabs = client.get(opened.headers["location"], headers=admin).text
    assert f'href="{PAGE}' in tabs
