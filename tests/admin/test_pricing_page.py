"""The pricing page as HTML: the same rows as the catalog API for the same filters, the
headline figures of ``/cost-summary``, controls for admins only, and changes made the way the
page's script makes them (the cookie and the CSRF header) being validated and audited like any
API call."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from tests.admin.conftest import Session

PAGE = "/admin/llm-costs/pricing"
API = "/api/v1/admin/pricing"
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])


def _row_ids(html: str) -> list[int]:
    table = html.split('id="table-models"', 1)[1].split("</table>", 1)[0]
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)"', table)]


def _write(ledger: Ledger, model: str, *, org: str = "acme", session: str | None = None) -> None:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    ledger.write(
        [
            UsageEvent(
                event_id=uuid.uuid4(),
                timestamp=now,
                provider="openai",
                model=model,
                org_id=org,
                session_id=session,
                input_tokens=1_000_000,
                output_tokens=0,
            )
        ]
    )


@sqlite_only
@pytest.mark.parametrize(
    "query",
    [
        {},
        {"search": "gpt-4o"},
        {"provider": "anthropic"},
        {"source": "bundled", "search": "claude"},
        {"offset": "50"},
        {"search": "no-such-model-anywhere"},
    ],
)
def test_the_table_holds_the_rows_of_the_models_api(session_as, query: dict[str, str]) -> None:
    s: Session = session_as("admin")
    html = s.client.get(PAGE, params=query).text
    params = {k: v for k, v in query.items() if k != "offset"}
    api = s.client.get(
        f"{API}/models", params={**params, "limit": 50, "offset": query.get("offset", 0)}
    ).json()
    assert _row_ids(html) == [m["id"] for m in api["models"]]
    assert f"{api['total']:,} models" in html


@sqlite_only
def test_every_token_class_is_a_column_with_the_rows_price(session_as) -> None:
    s: Session = session_as("admin")
    api = s.client.get(f"{API}/models", params={"search": "claude-sonnet-4-5"}).json()["models"]
    html = s.client.get(PAGE, params={"search": "claude-sonnet-4-5"}).text
    row = html.split(f'data-id="{api[0]["id"]}"', 1)[1].split("</tr>", 1)[0]
    for field in ("inputPerMillion", "outputPerMillion", "cacheReadPerMillion"):
        assert f'data-field="{field}" data-value="{api[0][field] or ""}"' in row
    for field in ("cacheWrite5mPerMillion", "cacheWrite1hPerMillion", "reasoningPerMillion"):
        assert f'data-field="{field}"' in row
    assert "inputAudioPerMillion" in row and "outputAudioPerMillion" in row and "perRequest" in row


@sqlite_only
def test_headline_figures_are_the_cost_summary(session_as, ledger: Ledger) -> None:
    _write(ledger, "gpt-4o", session="s1")
    _write(ledger, "gpt-4o", session="s1")
    _write(ledger, "gpt-4o", session="s2")
    s: Session = session_as("admin")
    summary = s.client.get("/api/v1/admin/llm-costs/cost-summary").json()
    assert summary["sessions"] == 2 and summary["requests"] == 3
    # gpt-4o's bundled input price is $2.50 per 1M: three 1M-token requests
    assert summary["costUsd"] == pytest.approx(7.5)
    assert summary["avgCostPerSessionUsd"] == pytest.approx(3.75)
    assert summary["avgCostPerRequestUsd"] == pytest.approx(2.5)
    assert summary["topModels"][0]["model"] == "gpt-4o"
    html = s.client.get(PAGE).text
    for kpi, shown in (("totalCost", "$7.50"), ("avgSession", "$3.75"), ("sessions", "2")):
        block = html.split(f'data-kpi="{kpi}"', 1)[1].split("</div>\n</div>", 1)[0]
        assert shown in block, kpi
    assert 'id="chart-data-providers"' in html and 'id="chart-data-topModels"' in html


@sqlite_only
def test_a_viewer_sees_prices_and_no_controls(session_as, ledger: Ledger) -> None:
    _write(ledger, "my-own-model")
    viewer: Session = session_as("viewer", "acme")
    html = viewer.client.get(PAGE).text
    assert _row_ids(html) and "data-history" in html  # reading the history is for everyone
    for control in ("data-edit", "data-delete", "data-api=", 'id="sync-form"', "data-add-price"):
        assert control not in html, control
    assert "my-own-model" in html  # its own organisation's unpriced traffic
    admin: Session = session_as("admin")
    html = admin.client.get(PAGE).text
    for control in ("data-edit", 'id="sync-form"', 'id="reprice-form"', "data-add-price"):
        assert control in html, control


@sqlite_only
def test_unpriced_models_are_scoped_to_the_viewers_organisation(session_as, ledger) -> None:
    _write(ledger, "secret-model-of-globex", org="globex")
    _write(ledger, "model-of-acme", org="acme")
    html = session_as("viewer", "acme").client.get(PAGE).text
    assert "model-of-acme" in html and "secret-model-of-globex" not in html
    both = session_as("admin").client.get(PAGE, params={"source": "fallback"}).text
    assert "model-of-acme" in both and "secret-model-of-globex" in both


@sqlite_only
@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"source": "cheap"}, "source"),
        ({"offset": "-1"}, "offset"),
        ({"search": "x" * 300}, "search"),
    ],
)
def test_a_bad_view_is_a_422_page_naming_it(session_as, query: dict[str, str], named: str) -> None:
    r = session_as("admin").client.get(PAGE, params=query)
    assert r.status_code == 422 and f"{named}:" in r.text


@sqlite_only
def test_a_change_without_the_csrf_header_is_refused(session_as) -> None:
    s: Session = session_as("admin")
    body = {
        "model": "page-model",
        "provider": "openai",
        "inputPerMillion": "1",
        "outputPerMillion": "2",
    }
    assert s.client.post(f"{API}/models", json=body).status_code == 403
    r = s.change("POST", f"{API}/models", json=body)
    assert r.status_code == 201, r.text
    # the page's token is the session's: what the script reads from the meta tag works
    html = s.client.get(PAGE).text
    assert f'<meta name="csrf-token" content="{s.csrf}">' in html
    assert "page-model" in s.client.get(PAGE, params={"source": "manual"}).text


@sqlite_only
def test_the_fallback_filter_lists_fallback_priced_traffic(session_as, ledger: Ledger) -> None:
    _write(ledger, "brand-new-model")
    html = session_as("admin").client.get(PAGE, params={"source": "fallback"}).text
    assert 'id="table-models"' not in html
    assert html.count('data-model="brand-new-model"') == 2  # the filtered table and the section
