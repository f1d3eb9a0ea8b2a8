"""reconciliation_drift on the alerts pages, in-process: the rules page shows a drift rule's
state as ``/alerts/status`` does and what its threshold means; the form offers the type to
admins only, with its threshold's default."""

from __future__ import annotations

import re

import pytest

from llmledger.alerts.check import check
from llmledger.ledger import Ledger
from tests.admin.conftest import Session
from tests.alerts.drift_support import NOW, day, drift_rule, plant
from tests.conftest import Clock

PAGE = "/admin/llm-costs/alerts"
API = "/api/v1/admin/llm-costs/alerts"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_rules_page_shows_a_drift_rule_and_the_form_offers_it_to_admins(
    session_as, ledger: Ledger, clock: Clock
) -> None:
    clock.now = NOW
    plant(ledger)
    admin: Session = session_as("admin")
    made = admin.change("POST", API, json=drift_rule(provider="openai")).json()
    own = admin.change("POST", API, json=drift_rule(name="Strict", thresholdPercent=50)).json()
    html = admin.client.get(PAGE).text
    card = html.split(f'data-rule="{made["id"]}"', 1)[1].split("</li>", 1)[0]
    assert 'data-state="CRITICAL"' in card and "Reconciliation drift" in card
    assert f'data-field="period" data-value="{day(0)}..{day(6)}"' in card
    assert f"openai on {day(2)} (gpt-4o)" in card
    assert "2.00% (LLMLEDGER_RECONCILIATION_DRIFT_PERCENT) apart on a settled day of openai" in card
    strict = html.split(f'data-rule="{own["id"]}"', 1)[1].split("</li>", 1)[0]
    assert 'data-state="OK"' in strict and "tracked and billed 50.00% apart" in strict

    form = admin.client.get(f"{PAGE}/new").text
    assert '<option value="reconciliation_drift">Reconciliation drift</option>' in form
    assert "LLMLEDGER_RECONCILIATION_DRIFT_PERCENT</code> (2%)" in form
    for name in ("orgId", "agent", "userId", "model", "timezone", "action"):
        assert re.search(
            rf'<label data-not-types="reconciliation_drift">[^<]*<(input|select) name="{name}"',
            form,
        ), name
    edit = admin.client.get(f"{PAGE}/{own['id']}/edit").text
    assert '<option value="reconciliation_drift" selected>' in edit
    assert re.search(r'name="thresholdPercent"[^>]*value="50.0"', edit)

    # what fired is in the history page, as /alerts/history has it
    check(ledger.engine, now=NOW)
    history = admin.client.get(f"{PAGE}/history").text
    fired = admin.client.get(f"{API}/history").json()["firings"]
    assert [f["ruleId"] for f in fired] == [made["id"]]
    assert f"{day(2)} openai" in history and "gpt-4o tracked $2.00, billed $3.00" in history

    boss: Session = session_as("org_admin", "acme")
    assert 'value="reconciliation_drift"' not in boss.client.get(f"{PAGE}/new").text
