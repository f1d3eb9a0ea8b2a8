"""The imports page as HTML: each provider's key as ``GET .../credentials`` shows it (never the
key), the runs of ``GET /api/v1/admin/imports`` newest first, paged and filtered, as CSV too; a
run and a key stored the way the page's script makes them (the cookie and the CSRF header);
admins only, as the API."""

from __future__ import annotations

import copy
import csv
import io
import re

import pytest
from sqlalchemy import insert

from llmledger.ledger import Ledger
from llmledger.providers.tables import provider_imports
from tests.admin.conftest import Session
from tests.providers import fixtures as fx
from tests.providers.fake_reports import OPENAI_KEY, Script, serve
from tests.providers.test_provider_imports import OPENAI_USAGE, settings_for

PAGE = "/admin/llm-costs/providers/imports"
API = "/api/v1/admin/imports"
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])
ANTHROPIC_SECRET = "sk-ant-admin-page-test-9f3k"


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_ADMIN_KEY", "ANTHROPIC_ADMIN_KEY", "GROQ_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def _table(html: str) -> str:
    return html.split('id="table-runs"', 1)[1].split("</table>", 1)[0]


def _run_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr>\s*<td data-value="(\d+)"', _table(html))]


def _card(html: str, provider: str) -> str:
    return html.split(f'data-provider="{provider}"', 1)[1].split("</article>", 1)[0]


def _plant_runs(ledger: Ledger, n: int) -> None:
    """Runs in the log, as imports leave them (the page only reads them)."""
    rows = [
        {
            "provider": ("openai", "anthropic", "groq")[i % 3],
            "start_day": fx.D0,
            "end_day": fx.D0 + 3 * fx.DAY,
            "state": "failed" if i % 5 == 0 else "ok",
            "trigger": "schedule",
            "usage_rows": i,
            "cost_rows": 2 * i,
            "metric_rows": 3 * i,
            "error": f"openai: answered 500 {i} times" if i % 5 == 0 else None,
            "started_us": (fx.D0 + i * 3600) * 1_000_000,
            "finished_us": (fx.D0 + i * 3600 + 60) * 1_000_000,
        }
        for i in range(n)
    ]
    with ledger.engine.begin() as conn:
        conn.execute(insert(provider_imports), rows)


@sqlite_only
def test_each_provider_shows_its_key_as_the_api_does_and_never_the_key(
    session_as, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-admin-from-the-environment")
    admin: Session = session_as("admin")
    put = admin.change(
        "PUT", "/api/v1/admin/providers/anthropic/credentials", json={"key": ANTHROPIC_SECRET}
    )
    assert put.status_code == 200, put.text
    html = admin.client.get(PAGE).text
    assert ANTHROPIC_SECRET not in html and "sk-admin-from-the-environment" not in html
    anthropic = _card(html, "anthropic")
    assert "stored, ends in <code>…9f3k</code>" in anthropic
    assert admin.person.email in anthropic and "Remove key" in anthropic
    assert "Replace key" in anthropic and 'type="password"' in anthropic
    openai = _card(html, "openai")
    assert "from the environment (<code>OPENAI_ADMIN_KEY</code>)" in openai
    assert "Remove key" not in openai and "Store key" in openai
    groq = _card(html, "groq")
    assert "none</span>: set <code>GROQ_API_KEY</code>" in groq
    assert "Last run</dt>" in groq and "never" in groq
    assert "Range:" not in html.split("<footer>", 1)[1]  # the page has no range to name
    # the tab is the area's: the provider pages' strip names it, current
    assert '<a href="/admin/llm-costs/providers/imports" aria-current="page">' in html


@sqlite_only
def test_the_runs_are_the_apis_newest_first_paged_filtered_and_as_csv(
    session_as, ledger: Ledger
) -> None:
    _plant_runs(ledger, 60)
    admin: Session = session_as("admin")
    api = admin.client.get(API, params={"limit": 500}).json()["runs"]
    html = admin.client.get(PAGE).text
    assert _run_ids(html) == [r["id"] for r in api[:50]]
    assert "answered 500 55 times" in html  # the errors are shown, in full
    older = re.search(r'<a href="([^"]+)" rel="next">Older</a>', html)
    assert older is not None
    rest = admin.client.get(older.group(1).replace("&amp;", "&")).text
    assert _run_ids(rest) == [r["id"] for r in api[50:]]
    assert 'rel="next"' not in rest and ">Newest</a>" in rest
    # a provider narrows it, as ?provider= narrows the API
    groq = admin.client.get(PAGE, params={"provider": "groq"}).text
    groq_api = admin.client.get(API, params={"provider": "groq"}).json()["runs"]
    assert _run_ids(groq) == [r["id"] for r in groq_api] and len(groq_api) == 20
    # the same rows as CSV, raw values
    got = admin.client.get(PAGE, params={"provider": "groq", "csv": "runs"})
    assert got.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert [int(r["Run"]) for r in rows] == [r["id"] for r in groq_api]
    first, api_first = rows[0], groq_api[0]
    assert (first["State"], first["Error"], first["Usage rows"]) == (
        api_first["state"],
        api_first["error"] or "",
        str(api_first["usageRows"]),
    )
    assert first["Range"] == f"{api_first['startDate']}/{api_first['endDate']}"
    assert first["Metric rows"] == str(api_first["metricRows"])


@sqlite_only
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"provider": "mistral"}, "provider: must be one of openai, anthropic, groq"),
        ({"before": "x"}, "before: must be a run id"),
        ({"before": "0"}, "before: must be a run id"),
        ({"csv": "nope"}, "no table"),
    ],
)
def test_a_bad_query_is_a_422_naming_it(session_as, query: dict[str, str], message: str) -> None:
    admin: Session = session_as("admin")
    r = admin.client.get(PAGE, params=query)
    assert r.status_code in (404, 422) and message in r.text


@sqlite_only
@pytest.mark.parametrize("role", ["viewer", "org_admin"])
def test_the_page_answers_403_like_its_api(session_as, role: str) -> None:
    s: Session = session_as(role, "acme")
    assert s.client.get(PAGE).status_code == 403
    assert s.client.get(API).status_code == 403


@sqlite_only
def test_anonymous_callers_are_sent_to_the_login_page(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get(PAGE, follow_redirects=False)
    assert r.status_code in (302, 303, 307) and r.headers["location"].startswith("/login")


@sqlite_only
def test_a_run_made_as_the_page_makes_it_shows_in_the_table(
    session_as, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin: Session = session_as("admin")
    with serve(Script(copy.deepcopy(fx.OPENAI))) as url:
        ledger.settings = settings_for(ledger, url)
        run = "/api/v1/admin/imports/openai/run"
        body = {"since": "2026-11-01", "until": "2026-11-03"}
        assert admin.client.post(run, json=body).status_code == 403  # no CSRF header: refused
        missing = admin.change("POST", run, json=body)
        assert missing.status_code == 422 and "no admin key" in missing.json()["detail"]
        stored = admin.change(
            "PUT", "/api/v1/admin/providers/openai/credentials", json={"key": OPENAI_KEY}
        )
        assert stored.status_code == 200
        done = admin.change("POST", run, json=body)
        assert done.status_code == 200, done.text
    html = admin.client.get(PAGE).text
    assert _run_ids(html) == [done.json()["id"]]
    row = _table(html).split("<tbody>", 1)[1]
    assert 'class="state state-ok"' in row and f'data-value="{len(OPENAI_USAGE)}"' in row
    card = _card(html, "openai")
    assert "tag-ok" in card and f"{len(OPENAI_USAGE)} usage rows" in card
    assert "Last used</dt><dd>never" not in card  # the run used the stored key
    assert OPENAI_KEY not in html


@sqlite_only
def test_an_admin_with_a_token_sees_the_page_without_controls(client, admin) -> None:  # type: ignore[no-untyped-def]
    r = client.get(PAGE, headers=admin)
    assert r.status_code == 200
    # a bearer token has no CSRF token for the scripts: no forms to offer
    assert "Run now" not in r.text and 'type="password"' not in r.text
    assert "imports.js" not in r.text
