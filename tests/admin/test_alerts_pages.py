"""The alerts pages as HTML: the rules with the live state ``/alerts/status`` answers for the
same caller at the same instant, the history ``/alerts/history`` answers for the same filters,
the forms holding a rule's values (dollars shown for the cents stored), and each role's view:
admins everything, org admins their own organisation's rules, viewers state without controls
and 403 from the forms, as from the API's changes."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from llmledger.alerts.check import check
from llmledger.ledger import Ledger
from tests.admin.conftest import Session
from tests.alerts.support import spend
from tests.conftest import Clock

PAGE = "/admin/llm-costs/alerts"
API = "/api/v1/admin/llm-costs/alerts"
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])


def _make(admin: Session, **fields: Any) -> dict[str, Any]:
    body = {"name": "rule", "alertType": "daily_limit", "thresholdCents": 100, **fields}
    r = admin.change("POST", API, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _cards(html: str) -> dict[int, str]:
    """Each rule's card by rule id."""
    parts = re.split(r'<li class="rule panel" data-rule="(\d+)"', html)[1:]
    return {int(parts[i]): parts[i + 1].split("</li>", 1)[0] for i in range(0, len(parts), 2)}


def _shown(card: str, field: str) -> str | None:
    found = re.search(rf'data-field="{field}" data-value="([^"]*)"', card)
    return found.group(1) if found else None


def _spend_and_rules(ledger: Ledger, clock: Clock, admin: Session) -> dict[str, int]:
    at = clock.now - dt.timedelta(seconds=1)
    spend(ledger, at, "0.85", org_id="acme")
    spend(ledger, at, "3.00", org_id="globex")
    return {
        "acme": _make(admin, name="Acme daily", orgId="acme")["id"],
        "globex": _make(admin, name="Globex daily", orgId="globex", thresholdCents=250)["id"],
        "acme spike": _make(
            admin, name="Acme spike", orgId="acme", alertType="cost_spike", thresholdCents=None
        )["id"],
        "off": _make(admin, name="Acme off", orgId="acme", isActive=False)["id"],
    }


def _assert_same_state(s: Session, html: str, params: dict[str, str] | None = None) -> None:
    api = s.client.get(f"{API}/status", params=params).json()
    cards = _cards(html)
    for state in api["rules"]:
        card = cards[state["ruleId"]]
        assert f'data-state="{state["state"]}"' in card
        assert _shown(card, "value") == str(state["value"])
        assert _shown(card, "threshold") == str(state["threshold"])
        assert _shown(card, "percentUsed") == str(state["percentUsed"])
        assert _shown(card, "period") == state["period"]["key"]
    for level, n in api["counts"].items():
        assert re.search(rf'id="kpi-{level.lower()}">.*?data-value="{n}"', html)


@sqlite_only
def test_the_rules_page_shows_the_state_of_alerts_status(
    session_as, ledger: Ledger, clock: Clock
) -> None:
    admin: Session = session_as("admin")
    ids = _spend_and_rules(ledger, clock, admin)
    html = admin.client.get(PAGE).text
    listed = admin.client.get(API).json()["rules"]
    assert list(_cards(html)) == [r["id"] for r in listed]
    _assert_same_state(admin, html)
    cards = _cards(html)
    # $0.85 of $1.00 is a WARNING; $3 of $2.50 CRITICAL; an inactive rule is not evaluated
    assert 'data-state="WARNING"' in cards[ids["acme"]] and "$0.85" in cards[ids["acme"]]
    assert 'data-state="CRITICAL"' in cards[ids["globex"]]
    assert 'data-state="INACTIVE"' in cards[ids["off"]] and "Enable" in cards[ids["off"]]
    assert '<meter min="0" max="100" low="80"' in cards[ids["acme"]]
    # an admin narrows the page to one organisation as the API narrows the status
    only = admin.client.get(PAGE, params={"orgId": "acme"}).text
    assert set(_cards(only)) == {ids["acme"], ids["acme spike"], ids["off"]}
    _assert_same_state(admin, only, {"orgId": "acme"})


@sqlite_only
def test_an_org_admin_sees_and_changes_only_its_own_rules(
    session_as, ledger: Ledger, clock: Clock
) -> None:
    admin: Session = session_as("admin")
    ids = _spend_and_rules(ledger, clock, admin)
    boss: Session = session_as("org_admin", "acme")
    html = boss.client.get(PAGE).text
    assert set(_cards(html)) == {ids["acme"], ids["acme spike"], ids["off"]}
    assert "Globex" not in html and "globex" not in html
    _assert_same_state(boss, html)
    assert "data-test-rule" in html and 'data-method="DELETE"' in html
    assert boss.client.get(f"{PAGE}/{ids['acme']}/edit").status_code == 200
    # another organisation's rule is not there, as in the API
    assert boss.client.get(f"{PAGE}/{ids['globex']}/edit").status_code == 404
    assert boss.client.get(f"{API}/{ids['globex']}").status_code == 404
    assert boss.client.get(PAGE, params={"orgId": "globex"}).status_code == 403
    form = boss.client.get(f"{PAGE}/new").text
    assert 'name="orgId"' not in form and "acme" in form


@sqlite_only
def test_a_viewer_sees_state_and_no_controls(session_as, ledger: Ledger, clock: Clock) -> None:
    admin: Session = session_as("admin")
    ids = _spend_and_rules(ledger, clock, admin)
    viewer: Session = session_as("viewer", "acme")
    html = viewer.client.get(PAGE).text
    assert set(_cards(html)) == {ids["acme"], ids["acme spike"], ids["off"]}
    _assert_same_state(viewer, html)
    for control in ("data-api", "data-test-rule", "/edit", "/alerts/new", "New alert"):
        assert control not in html
    for path in (f"{PAGE}/new", f"{PAGE}/{ids['acme']}/edit"):
        assert viewer.client.get(path).status_code == 403
    body = {"name": "x", "alertType": "daily_limit", "thresholdCents": 1}
    assert viewer.change("POST", API, json=body).status_code == 403
    assert viewer.change("PUT", f"{API}/{ids['acme']}", json={"isActive": False}).status_code == 403
    assert viewer.change("DELETE", f"{API}/{ids['acme']}").status_code == 403
    assert viewer.client.get(f"{PAGE}/history").status_code == 200


@sqlite_only
def test_anonymous_callers_are_sent_to_the_login_page(client) -> None:
    for path in (PAGE, f"{PAGE}/new", f"{PAGE}/history", f"{PAGE}/1/edit"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code in (302, 303, 307) and r.headers["location"].startswith("/login")


@sqlite_only
def test_the_edit_form_holds_every_field_of_the_rule(session_as) -> None:
    admin: Session = session_as("admin")
    rule = _make(
        admin,
        name="Acme weekly",
        orgId="acme",
        agent="support",
        userId="u-1",
        provider="openai",
        model="gpt-4o",
        alertType="weekly_limit",
        thresholdCents=123_456,
        warningPercent=70,
        notificationEmails=["a@example.com", "b@example.com"],
        notificationFrequency="hourly",
        timezone="Europe/Berlin",
        action="block",
        isActive=False,
    )
    html = admin.client.get(f"{PAGE}/{rule['id']}/edit").text
    for name, value in (
        ("name", "Acme weekly"),
        ("orgId", "acme"),
        ("agent", "support"),
        ("userId", "u-1"),
        ("provider", "openai"),
        ("model", "gpt-4o"),
        ("thresholdCents", "1234.56"),
        ("warningPercent", "70"),
        ("timezone", "Europe/Berlin"),
    ):
        assert re.search(rf'name="{name}"[^>]*value="{re.escape(value)}"', html), name
    assert '<option value="weekly_limit" selected>' in html
    assert '<option value="hourly" selected>' in html and '<option value="block" selected>' in html
    assert "a@example.com\nb@example.com</textarea>" in html
    assert not re.search(r'name="isActive" checked', html)
    assert f'data-rule-api="{API}/{rule["id"]}" data-method="PUT"' in html


@sqlite_only
def test_the_history_page_lists_what_alerts_history_answers(
    session_as, ledger: Ledger, clock: Clock
) -> None:
    admin: Session = session_as("admin")
    ids = _spend_and_rules(ledger, clock, admin)
    _make(admin, name="Acme mail", orgId="acme", notificationEmails=["ops@example.com"])
    check(ledger.engine, now=clock.now)
    old = (clock.now - dt.timedelta(days=2)).date().isoformat()
    for params in (
        {},
        {"ruleId": str(ids["acme"])},
        {"level": "CRITICAL"},
        {"orgId": "globex"},
        {"limit": "1"},
        {"startDate": clock.now.date().isoformat()},
        {"startDate": (clock.now - dt.timedelta(days=3)).date().isoformat(), "endDate": old},
    ):
        html = admin.client.get(f"{PAGE}/history", params=params).text
        api = admin.client.get(f"{API}/history", params=params).json()
        shown = [int(i) for i in re.findall(r'data-firing="(\d+)"', html)]
        assert shown == [f["id"] for f in api["firings"]], params
        assert ('rel="next"' in html) == (api["nextCursor"] is not None)
    html = admin.client.get(f"{PAGE}/history", params={"limit": "1"}).text
    older = re.search(r'href="([^"]+)" rel="next"', html)
    assert older and "cursor=" in older.group(1)
    # a delivery with its status and attempts
    mail = admin.client.get(f"{PAGE}/history").text
    assert 'data-status="pending"' in mail and "ops@example.com" in mail
    viewer: Session = session_as("viewer", "globex")
    theirs = viewer.client.get(f"{PAGE}/history").text
    api = viewer.client.get(f"{API}/history").json()["firings"]
    assert [int(i) for i in re.findall(r'data-firing="(\d+)"', theirs)] == [f["id"] for f in api]
    assert {f["orgId"] for f in api} == {"globex"}
    assert admin.client.get(f"{PAGE}/history", params={"level": "OK"}).status_code == 422


@sqlite_only
def test_a_change_from_a_page_needs_its_csrf_token_and_is_audited(session_as) -> None:
    admin: Session = session_as("admin")
    rule = _make(admin, name="Audited")
    bare = admin.client.put(f"{API}/{rule['id']}", json={"isActive": False})
    assert bare.status_code == 403
    assert admin.client.get(f"{API}/{rule['id']}").json()["isActive"] is True
    assert admin.change("PUT", f"{API}/{rule['id']}", json={"isActive": False}).status_code == 200
    entries = admin.client.get(
        "/api/v1/admin/audit-log", params={"target": f"alert:{rule['id']}"}
    ).json()["entries"]
    assert [e["action"] for e in entries] == ["alert.update", "alert.create"]
    assert entries[0]["actor"]["kind"] == "session"
    assert entries[0]["actor"]["label"] == admin.person.email
