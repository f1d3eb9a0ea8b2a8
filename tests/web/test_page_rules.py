"""What holds on every page of the breakdowns and series: a table's CSV is the table, a chart
has a text alternative, no script is inline, and a scoped person sees their own organisation
only (no selector, no other organisation's names, 403 for another's)."""

from __future__ import annotations

import re

import pytest

from tests.analytics.conftest import DataSet
from tests.web.page import BASE, get_api, get_page, read_csv, read_page

PAGES = [
    ("/agents", {}),
    ("/models", {"range": "30d"}),
    ("/users", {"provider": "openai"}),
    ("/operations", {"range": "7d"}),
    ("/usage-pattern", {}),
    ("/forecast", {}),
    ("/what-if", {"asModel": "gpt-4o-mini"}),
]
OTHER_ORGS = ("globex", "initech")


@pytest.mark.parametrize(("path", "params"), PAGES)
def test_every_tables_csv_is_the_table(data: DataSet, path: str, params: dict[str, str]) -> None:
    shown = get_page(data, path, **params)
    assert shown.tables
    for table in shown.tables.values():
        assert table.csv_href is not None, f"{path}: {table.id} has no CSV link"
        r = data.client.get(table.csv_href, headers=data.admin)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        assert "attachment" in r.headers["content-disposition"]
        header, rows = read_csv(r.text)
        assert header == table.headers, table.id
        assert rows == table.values(), table.id


@pytest.mark.parametrize(("path", "params"), PAGES)
def test_charts_have_text_and_scripts_are_files(
    data: DataSet, path: str, params: dict[str, str]
) -> None:
    shown = get_page(data, path, **params)
    assert shown.charts, path
    for box in re.findall(r'<div class="chart-box"[^>]*>', shown.html):
        label = re.search(r'aria-label="([^"]*)"', box)
        assert label and len(label.group(1)) > 20, box
        assert 'role="img"' in box
    for chart_id in shown.charts:
        assert re.search(rf'id="figure-{re.escape(chart_id)}"', shown.html)
    for script in shown.scripts:
        # the CSP allows scripts from this origin only: data goes in JSON blocks
        assert script.get("type") == "application/json" or str(script.get("src")).startswith(
            "/static/"
        ), script
    # each page is in the navigation, marked as the current one
    assert f'href="{BASE}{path}' in shown.html and 'aria-current="page"' in shown.html


@pytest.mark.parametrize(("path", "params"), PAGES)
def test_a_viewer_sees_only_their_organisation(
    data: DataSet, viewer: dict[str, str], path: str, params: dict[str, str]
) -> None:
    shown = get_page(data, path, viewer, **params)
    for name in OTHER_ORGS:
        assert name not in shown.html, f"{path} shows {name} to a viewer of acme"
    assert 'name="orgId"' not in shown.html  # no scope selector
    assert f'href="{BASE}/orgs"' not in shown.html  # the organisations page is not linked
    # their CSVs hold nothing else either
    for table in shown.tables.values():
        if table.csv_href:
            text = data.client.get(table.csv_href, headers=viewer).text
            assert not any(name in text for name in OTHER_ORGS)
    # another organisation's view is refused, whether or not it exists
    for org in ("globex", "no-such-org"):
        r = data.client.get(BASE + path, params={**params, "orgId": org}, headers=viewer)
        assert r.status_code == 403, (path, org)
        assert not any(name in r.text for name in OTHER_ORGS if name != org)


def test_a_viewers_figures_are_their_organisations(data: DataSet, viewer: dict[str, str]) -> None:
    agents = get_page(data, "/agents", viewer).tables["agents"]
    scoped = get_api(data, "/by-agent", viewer)["agents"]
    acme = get_api(data, "/by-agent", startDate="2026-11-01", orgId="acme")["agents"]
    assert scoped == acme
    assert [float(v or 0) for v in agents.column("Cost")] == [a["costUsd"] for a in acme]
    users = get_page(data, "/users", viewer).tables["users"]
    assert "Organisation" not in users.headers
    assert all(str(u).startswith(("acme-", "-shared")) for u in users.column("User"))


def test_anonymous_callers_are_sent_to_the_login_page(data: DataSet) -> None:
    for path, params in PAGES:
        r = data.client.get(BASE + path, params=params, follow_redirects=False)
        assert r.status_code in (302, 303, 307), path
        assert r.headers["location"].startswith("/login")
        assert read_page(r.text).tables == {}


def _sort_link(html: str, label: str) -> dict[str, list[str]]:
    from html import unescape
    from urllib.parse import parse_qs, urlsplit

    found = re.search(rf'<th[^>]*><a href="([^"]+)">{label}\b', html)
    assert found, label
    return parse_qs(urlsplit(unescape(found[1])).query)


def test_a_first_click_sorts_names_from_a_and_numbers_largest_first(data: DataSet) -> None:
    html = get_page(data, "/orgs").html  # sorted by cost, most first
    assert _sort_link(html, "Organisation")["order"] == ["asc"]
    assert _sort_link(html, "Requests")["order"] == ["desc"]
    assert _sort_link(html, "Cost")["order"] == ["asc"]  # a second click turns it round
    by_name = get_page(data, "/orgs", sort="name", order="asc").html
    assert _sort_link(by_name, "Organisation")["order"] == ["desc"]
