"""The reconciliation and billing pages over the demo's traffic and provider reports (the
planted differences of ``llmledger.providers.demo``), in-process, on SQLite and PostgreSQL:
each planted difference is flagged on its day and model with its cause and nothing else is;
a flagged row opens the request log of that day and model; every table's CSV is the table;
the billing API and page agree; billed stands beside tracked on the forecast and the overview
for admins only, with the days not imported and Groq's estimate said."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from llmledger.providers import demo as planted
from llmledger.providers.reconcile import CAUSES
from tests.providers.demo_data import TODAY, DemoData, back, open_demo
from tests.support.databases import PostgresDatabase, SqliteTemplate, pg_reachable
from tests.web.page import BASE, Page, get_api, get_page, read_csv, read_page

RECONCILIATION = "/providers/reconciliation"
BILLING = "/providers/billing"
#: the last thirty days, today included: the demo's imported range
SPAN = {"startDate": back(29), "endDate": back(0)}
HAIKU = planted.MISPRICED[1]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def demo(
    request: pytest.FixtureRequest,
    sqlite_template: SqliteTemplate,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DemoData]:
    root = tmp_path_factory.mktemp("provider-pages")
    if request.param == "sqlite":
        yield from open_demo(sqlite_template.settings_for(root / "data"))
        return
    reason = pg_reachable()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but cannot be reached: {reason}")
        pytest.skip(f"PostgreSQL not reachable: {reason}")
    db = PostgresDatabase()
    try:
        settings = db.settings_for(Path(root / "data"))
        from llmledger.ledger import Ledger

        Ledger.open(settings).close()  # the schema
        yield from open_demo(settings)
    finally:
        db.drop()


def expected_flags(demo: DemoData) -> dict[tuple[str, str, str], str]:
    """What the demo planted, at the grain of a day and a model: the untracked day (every
    OpenAI model tracked that day), the mispriced model's days and the project that never
    used the SDK."""
    day = back(planted.UNTRACKED_DAY)
    models = get_api(demo, "/by-model", startDate=day, endDate=day, provider="openai")["models"]
    flags = {("openai", day, m["model"]): "untracked" for m in models}
    flags |= {("anthropic", back(n), HAIKU): "price" for n in planted.MISPRICED_DAYS}
    flags |= {("openai", back(n), "gpt-4o-mini"): "untracked" for n in planted.NEVER_SDK_DAYS}
    return flags


def cells(page: Page, table: str) -> list[dict[str, Any]]:
    t = page.tables[table]
    return [{h: c for h, c in zip(t.headers, row, strict=True)} for row in t.rows]


def test_the_planted_differences_are_flagged_on_their_day_and_model_with_their_cause(
    demo: DemoData,
) -> None:
    expected = expected_flags(demo)
    assert len(expected) >= 12
    shown = get_page(demo, RECONCILIATION, **SPAN)
    flagged = {
        (r["Provider"].value, r["Day"].value, r["Model"].value): r["Cause"].value
        for r in cells(shown, "flagged")
    }
    assert flagged == expected
    # the page's list is the API's flagged rows at the grain of a day and a model
    api = get_api(demo, "/reconciliation", groupBy="day_model", **SPAN)
    assert {
        (r["provider"], r["day"], r["model"]): r["cause"] for r in api["rows"] if r["flagged"]
    } == (expected)
    assert api["flaggedRows"] == len(expected)
    # the cause is said in words, not by colour alone
    by_model = get_page(demo, RECONCILIATION, groupBy="day_model", **SPAN)
    for r in cells(by_model, "rows"):
        key = (r["Provider"].value, r["Day"].value, r["Model"].value)
        if key in expected:
            assert r["Flag"].text == expected[key] == r["Flag"].value, key
        else:
            assert r["Flag"].text == "ok" and r["Flag"].value == "", key
    # and each cause is explained in words on the page
    for text in CAUSES.values():
        assert text in by_model.text
    # the project that never used the SDK, by project
    by_project = get_api(
        demo,
        "/reconciliation",
        groupBy="project",
        provider="openai",
        startDate=back(max(planted.NEVER_SDK_DAYS)),
        endDate=back(min(planted.NEVER_SDK_DAYS)),
    )
    assert {r["project"]: r["cause"] for r in by_project["rows"] if r["flagged"]} == {
        planted.NEVER_SDK[1]: "untracked"
    }


def test_a_range_without_a_planted_difference_is_flagged_nowhere(demo: DemoData) -> None:
    quiet = {"startDate": back(25), "endDate": back(14)}
    for group in ("day", "model", "project", "day_model"):
        shown = get_page(demo, RECONCILIATION, groupBy=group, **quiet)
        assert shown.tables["rows"].rows, group
        assert not shown.tables["flagged"].rows, group
        assert all(r["Flag"].value == "" for r in cells(shown, "rows")), group


def test_a_flagged_row_opens_the_request_log_of_that_day_and_model(demo: DemoData) -> None:
    shown = get_page(demo, RECONCILIATION, **SPAN)
    for row in cells(shown, "flagged"):
        provider, day, model = row["Provider"].value, row["Day"].value, row["Model"].value
        href = row["Model"].href
        assert href is not None and href == row["Day"].href
        url = urlsplit(href)
        assert url.path == BASE + "/requests"
        assert parse_qs(url.query) == {
            "startDate": [day],
            "endDate": [day],
            "provider": [provider],
            "model": [model],
        }
    # one of them followed: the log holds that provider's model on that day, and only it
    row = next(r for r in cells(shown, "flagged") if r["Provider"].value == "anthropic")
    r = demo.client.get(row["Model"].href, headers=demo.admin)
    assert r.status_code == 200
    log = read_page(r.text).tables["requests"]
    assert log.rows
    assert set(log.column("Model")) == {HAIKU} and set(log.column("Provider")) == {"anthropic"}
    assert {str(t)[:10] for t in log.column("Time (UTC)")} == {row["Day"].value}


def test_coverage_and_groqs_estimates_are_said(demo: DemoData) -> None:
    shown = get_page(demo, RECONCILIATION, **SPAN)
    coverage = {r["Provider"].value: r for r in cells(shown, "coverage")}
    assert coverage["anthropic"]["Days not imported"].value == "1"
    assert coverage["anthropic"]["Not imported"].text == TODAY.isoformat()
    assert coverage["openai"]["Days not imported"].value == "0"
    groq = [r for r in cells(shown, "rows") if r["Provider"].value == "groq"]
    assert groq and all(r["Billed"].text.endswith("(estimate)") for r in groq)
    others = [r for r in cells(shown, "rows") if r["Provider"].value != "groq"]
    assert others and not any("estimate" in r["Billed"].text for r in others)
    assert "Groq reports no cost" in shown.text
    assert "estimate" in str(shown.charts["by-day"]["data"])
    billing = get_page(demo, BILLING, provider="groq", **SPAN)
    assert all(r["Billed"].text.endswith("(estimate)") for r in cells(billing, "rows"))
    assert "Groq reports no cost" in billing.text


def test_the_chart_is_tracked_and_billed_by_day(demo: DemoData) -> None:
    shown = get_page(demo, RECONCILIATION, provider="openai", **SPAN)
    tracked, billed = shown.charts["by-day"]["data"]
    api = get_api(demo, "/reconciliation", provider="openai", **SPAN)
    assert tracked["x"] == [r["day"] for r in api["rows"]] == billed["x"]
    assert tracked["y"] == pytest.approx([r["trackedCostUsd"] for r in api["rows"]])
    assert billed["y"] == pytest.approx([r["billedCostUsd"] for r in api["rows"]])
    untracked = api["rows"][[r["day"] for r in api["rows"]].index(back(planted.UNTRACKED_DAY))]
    assert untracked["flagged"] and untracked["cause"] == "untracked"


PAGES = [
    (RECONCILIATION, {}),
    (RECONCILIATION, {"groupBy": "model", "provider": "anthropic"}),
    (RECONCILIATION, {"groupBy": "day_model", **SPAN}),
    (RECONCILIATION, {"groupBy": "project", **SPAN}),
    (BILLING, {}),
    (BILLING, {"groupBy": "line_item", "granularity": "week", **SPAN}),
    (BILLING, {"granularity": "month", "provider": "openai", **SPAN}),
    (BILLING, {"granularity": "year", **SPAN}),
]


@pytest.mark.parametrize(("path", "params"), PAGES)
def test_every_tables_csv_is_the_table(demo: DemoData, path: str, params: dict[str, str]) -> None:
    shown = get_page(demo, path, **params)
    assert len(shown.tables) >= 3
    for table in shown.tables.values():
        if not table.rows:
            continue
        assert table.csv_href is not None, table.id
        r = demo.client.get(table.csv_href, headers=demo.admin)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        header, rows = read_csv(r.text)
        assert header == table.headers, table.id
        assert rows == table.values(), table.id


def nanos(usd: float) -> int:
    return round(usd * 1_000_000_000)


def test_billing_sums_exactly_whatever_the_granularity(demo: DemoData) -> None:
    daily = get_api(demo, "/billing", **SPAN)
    assert daily["rows"] and daily["costUsd"] > 0
    total = nanos(daily["costUsd"])
    for granularity in ("day", "week", "month", "year"):
        for group in ("project", "line_item"):
            answer = get_api(demo, "/billing", granularity=granularity, groupBy=group, **SPAN)
            assert sum(nanos(r["costUsd"]) for r in answer["rows"]) == total
            assert sum(nanos(p["costUsd"]) for p in answer["periods"]) == total
            assert sum(nanos(k["costUsd"]) for k in answer["keys"]) == total
            assert sum(nanos(t["costUsd"]) for t in answer["totals"]) == total
    weekly = get_api(demo, "/billing", granularity="week", **SPAN)
    first, last = weekly["periods"][0], weekly["periods"][-1]
    # 2026-11-08 is a Sunday: the range's first week is one day of ISO week 45
    assert (first["period"], first["startDate"], first["endDate"]) == (
        "2026-W45",
        "2026-11-08",
        "2026-11-08",
    )
    assert (last["period"], last["startDate"], last["endDate"]) == (
        "2026-W50",
        "2026-12-07",
        "2026-12-07",
    )
    monthly = get_api(demo, "/billing", granularity="month", **SPAN)
    assert [p["period"] for p in monthly["periods"]] == ["2026-11", "2026-12"]
    # billed by provider is what reconciliation compares, plus the charges naming no model
    rec = get_api(demo, "/reconciliation", provider="openai", **SPAN)
    openai = next(t for t in daily["totals"] if t["provider"] == "openai")
    assert nanos(openai["costUsd"]) == sum(
        nanos(r["billedCostUsd"]) + nanos(r["otherChargesUsd"]) for r in rec["rows"]
    )
    items = get_api(demo, "/billing", groupBy="line_item", provider="openai", **SPAN)["keys"]
    assert any(k["lineItem"] == "Web search tool calls" for k in items)
    # the page shows the API's figures
    shown = get_page(demo, BILLING, granularity="week", **SPAN)
    assert shown.tables["periods"].column("Billed") == [
        str(p["costUsd"]) for p in weekly["periods"]
    ]
    assert [float(v or 0) for v in shown.tables["rows"].column("Billed")] == [
        r["costUsd"] for r in weekly["rows"]
    ]
    assert shown.charts["billed"]["data"]


def test_bad_parameters_are_named_and_only_admins_may_look(demo: DemoData) -> None:
    api = "/api/v1/admin/llm-costs/billing"
    for params, needle in (
        ({"groupBy": "model"}, "groupBy"),
        ({"granularity": "hour"}, "granularity"),
        ({"provider": "mistral"}, "provider"),
        ({"startDate": "2026-11-01T00:00:00Z"}, "startDate"),
        ({"startDate": "2026-12-05", "endDate": "2026-12-01"}, "endDate"),
        ({"startDate": "1990-01-01", "endDate": "2026-01-01"}, "days"),
    ):
        r = demo.client.get(api, params=params, headers=demo.admin)
        assert r.status_code == 422 and needle in str(r.json()["detail"]), (params, r.text)
    assert demo.client.get(api, headers=demo.viewer).status_code == 403
    assert demo.client.get(api).status_code == 401
    for path, params, needle in (
        (RECONCILIATION, {"groupBy": "week"}, "groupBy"),
        (RECONCILIATION, {"provider": "mistral"}, "provider"),
        (BILLING, {"granularity": "hour"}, "granularity"),
        (BILLING, {"startDate": "2026-11-01T10:00:00Z"}, "startDate"),
    ):
        r = demo.client.get(BASE + path, params=params, headers=demo.admin)
        assert r.status_code == 422 and needle in r.text, (path, params)
    for path in (RECONCILIATION, BILLING):
        assert demo.client.get(BASE + path, headers=demo.viewer).status_code == 403
        anonymous = demo.client.get(BASE + path, follow_redirects=False)
        assert anonymous.status_code in (302, 303, 307)
        assert anonymous.headers["location"].startswith("/login")


def test_billed_stands_beside_tracked_for_admins_only(demo: DemoData) -> None:
    month = {"startDate": TODAY.replace(day=1).isoformat(), "endDate": TODAY.isoformat()}
    billed = {t["provider"]: t for t in get_api(demo, "/billing", **month)["totals"]}
    tracked: dict[str, float] = {}
    for m in get_api(demo, "/by-model", startDate=month["startDate"])["models"]:
        tracked[m["provider"]] = tracked.get(m["provider"], 0) + m["costUsd"]
    forecast = get_page(demo, "/forecast")
    rows = {r["Provider"].value: r for r in cells(forecast, "billed")}
    assert set(rows) == {"openai", "anthropic", "groq"}
    for provider, r in rows.items():
        assert float(r["Billed"].value or 0) == pytest.approx(billed[provider]["costUsd"])
        assert float(r["Tracked"].value or 0) == pytest.approx(tracked[provider])
    assert rows["groq"]["Billed"].text.endswith("(estimate)")
    assert rows["anthropic"]["Not imported yet"].text == TODAY.isoformat()
    assert "anthropic: 1 day not imported yet" in forecast.text
    assert 'data-kpi="billedMonthToDate"' in forecast.html

    overview = get_page(demo, "", **SPAN)
    by_provider = {r["Provider"].value: r for r in cells(overview, "billed")}
    span_billed = {t["provider"]: t for t in get_api(demo, "/billing", **SPAN)["totals"]}
    assert set(by_provider) == {"openai", "anthropic", "groq"}
    for provider, r in by_provider.items():
        assert float(r["Billed"].value or 0) == pytest.approx(span_billed[provider]["costUsd"])
    # an organisation's own pages, and a view narrowed to one, keep tracked alone
    for headers, params in ((demo.viewer, {}), (demo.admin, {"orgId": "acme"})):
        for path in ("/forecast", ""):
            shown = get_page(demo, path, headers=headers, **params)
            assert "billed" not in shown.tables and "Billed beside tracked" not in shown.text
    narrowed = get_page(demo, "/forecast", model="gpt-4o")
    assert "billed" not in narrowed.tables
    one = get_page(demo, "/forecast", provider="groq")
    assert [r["Provider"].value for r in cells(one, "billed")] == ["groq"]


def test_an_organisation_chosen_above_is_said_not_to_narrow_the_pages(demo: DemoData) -> None:
    for path in (RECONCILIATION, BILLING):
        everyone = get_page(demo, path, **SPAN)
        scoped = get_page(demo, path, orgId="acme", **SPAN)
        assert "does not narrow this page" in scoped.text
        assert "does not narrow this page" not in everyone.text
        assert {k: t.values() for k, t in scoped.tables.items()} == {
            k: t.values() for k, t in everyone.tables.items()
        }
