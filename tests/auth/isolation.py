"""The two-organisation world of the tenant-isolation tests: organisation A with data and
people; organisation B loaded later with everything it can have; and request plans that point
A's callers at B."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from fastapi.testclient import TestClient
from sqlalchemy import update

from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from llmledger.store import tables as t
from tests.auth.conftest import MakeUser, Person, log_in
from tests.auth.routes import Endpoint, Param, endpoints, fill_path, sample_body, spec_of

NOW = dt.datetime(2026, 11, 20, 15, 30, tzinfo=dt.UTC)
A, B = "alpha-org", "bravo-org"
B_NAME = "Bravo Secret Holdings"
#: strings only organisation B's data contains; none may reach A's callers
B_MARKERS = (B, B_NAME, "bravo-user", "bravo-sess", "bravo-agent", "bravo-op", "bravo-tier")
B_MARKERS += ("bravo-model", "bravo-prov", "bravo-req", "bravo-meta", "@bravo.example")
#: values of filters that point at B (by lower-cased parameter name)
B_STRINGS = {
    "orgid": B,
    "sessionid": "bravo-sess-1",
    "agent": "bravo-agent",
    "operation": "bravo-op",
    "tier": "bravo-tier",
    "actor": "viewer@bravo.example",
    "userid": "bravo-user-1",
    "search": "bravo",
}
DATES = {"startDate": "2026-11-01", "endDate": "2026-11-20"}
NOT_FILTERS = {"cursor", "limit", "offset"}
#: an id nothing has: what "does not exist" answers look like
GHOST = 2_147_480_000
VIEWER, SESSION, ORG_ADMIN = "viewer (token)", "viewer (session)", "org admin (token)"
INGEST, ANONYMOUS = "ingest key", "anonymous"
BODY_VALUES = {
    "email": "someone@bravo.example",
    "password": "long enough password",
    "name": "bravo thing",
    "thresholdCents": 100,  # an alert rule's budget
    **DATES,
}


def _events(org: str, tag: str, n: int) -> list[UsageEvent]:
    out = []
    for i in range(n):
        bespoke = i % 3 == 0
        out.append(
            UsageEvent(
                event_id=uuid.UUID(bytes=hashlib.sha256(f"{tag}{i}".encode()).digest()[:16]),
                timestamp=NOW - dt.timedelta(hours=3 + 7 * i),
                provider=f"{tag}-prov" if bespoke else "openai",
                model=f"{tag}-model" if bespoke else "gpt-4o",
                org_id=org,
                user_id=f"{tag}-user-{i % 2}",
                agent=f"{tag}-agent",
                session_id=f"{tag}-sess-{i % 4}",
                operation=f"{tag}-op",
                tier=f"{tag}-tier",
                request_id=f"{tag}-req-{i}",
                metadata={"note": f"{tag}-meta"},
                input_tokens=1000 + 37 * i,
                output_tokens=100 + 11 * i,
                latency_ms=200 + i,
                success=i % 5 != 0,
                cost_usd=Decimal("0.000123") * (i + 1) if i % 4 == 1 else None,
            )
        )
    return out


@dataclass
class World:
    ledger: Ledger
    client: TestClient  # does not raise server errors: a 500 is an answer to check
    admin: Person
    viewer: Person
    org_admin: Person
    callers: dict[str, dict[str, str]]  # name -> headers
    b_ids: dict[str, list[Any]] = field(default_factory=dict)  # by parameter name
    created: dict[str, list[Any]] = field(default_factory=dict)  # POST path -> ids it made

    @property
    def spec(self) -> dict[str, Any]:
        return spec_of(self.client.app)

    def get(self, who: str, url: str, params: dict[str, Any]) -> tuple[int, str]:
        r = self.client.get(url, params=params, headers=self.callers[who])
        return r.status_code, r.text


def load_b(w: World, make_user: MakeUser, browser) -> None:
    """Everything organisation B can have: events (through its own ingest key), a name, users,
    tokens, a session, and one of whatever each admin POST endpoint with an ``orgId`` makes."""
    admin = w.admin.bearer
    key = w.client.post(
        "/api/v1/admin/ingest-keys", json={"orgId": B, "name": "bravo key"}, headers=admin
    ).json()
    events = [e.model_dump(mode="json", by_alias=True) for e in _events(B, "bravo", 24)]
    r = w.client.post(
        "/api/v1/events", json={"events": events}, headers={"Authorization": f"Bearer {key['key']}"}
    )
    assert r.status_code == 200 and r.json()["accepted"] == 24, r.text
    with w.ledger.engine.begin() as conn:
        o = t.organizations
        conn.execute(update(o).where(o.c.org_id == B).values(name=B_NAME))
    b_viewer = make_user("viewer@bravo.example", "viewer", B)
    b_boss = make_user("boss@bravo.example", "org_admin", B)
    own = w.client.post("/api/v1/admin/tokens", json={"name": "bravo"}, headers=b_viewer.bearer)
    log_in(browser(), b_boss)
    w.b_ids = {"userId": [b_viewer.id, b_boss.id], "tokenId": [own.json()["id"]]}
    w.b_ids["keyId"] = [key["id"]]
    for e in endpoints(w.client.app):
        props = (e.body_schema or {}).get("properties", {})
        if e.method != "POST" or "orgId" not in props or e.self_service or e.params:
            continue
        body = sample_body(e.body_schema or {}, w.spec, {"orgId": B, **BODY_VALUES})
        r = w.client.post(e.path, json=body, headers=admin)
        answer = r.json() if r.status_code < 300 else {}
        for name, value in answer.items() if isinstance(answer, dict) else ():
            if name == "id":
                w.created.setdefault(e.path, []).append(value)
            elif name.endswith("Id") and name != "orgId" and isinstance(value, int | str):
                w.b_ids.setdefault(name, []).append(value)


def b_string(p: Param) -> str | None:
    """A value that points at organisation B for a text parameter (known before B exists)."""
    name = p.name.lower()
    if p.kind != "string" or p.name in DATES or name in NOT_FILTERS:
        return None
    if name in B_STRINGS:
        return B_STRINGS[name]
    if "model" in name:
        return "bravo-model"
    if "provider" in name:
        return "bravo-prov"
    return B


def b_ids(p: Param, e: Endpoint, w: World) -> list[Any]:
    """B's ids for a parameter: what B's POST to the same collection made, and B's ids of that
    name. (Ids of other tables mean other things: a price row is nobody's.)"""
    if p.name.lower() in NOT_FILTERS:
        return []
    made = w.created.get(e.path.split("/{")[0], []) if p.where == "path" else []
    wanted = int if p.kind == "integer" else str
    return [v for v in dict.fromkeys([*made, *w.b_ids.get(p.name, [])]) if isinstance(v, wanted)]


def base_query(e: Endpoint) -> dict[str, Any]:
    """Query values every request of ``e`` carries: dates, and required parameters."""
    q: dict[str, Any] = {}
    for p in e.params:
        if p.where == "query" and p.name in DATES:
            q[p.name] = DATES[p.name]
        elif p.where == "query" and p.required:
            q[p.name] = "gpt-4o" if "model" in p.name.lower() else (p.choices or [A])[0]
    return q


def url_of(e: Endpoint, values: dict[str, Any]) -> str:
    return fill_path(e.path, {k: quote(str(v), safe="") for k, v in values.items()})


Request = tuple[str, str, tuple[tuple[str, Any], ...]]  # caller, url, sorted params


def string_plan(e: Endpoint) -> list[Request]:
    """Requests that name B only by strings (which mean nothing before B exists): plain, with
    ``orgId`` = B, with every other filter on B's names at once, and each enum choice."""
    path = {p.name: b_string(p) for p in e.params if p.where == "path"}
    if any(v is None for v in path.values()):
        return []  # integer ids: see _id_pairs
    url, base = url_of(e, path), base_query(e)
    query = [p for p in e.params if p.where == "query"]
    by_org = {**base, **{p.name: B for p in query if p.name == "orgId"}}
    others = {p.name: v for p in query if p.name != "orgId" and (v := b_string(p)) is not None}
    variants = [base, by_org, {**base, **others}]
    variants += [{**base, p.name: c} for p in query if p.kind == "enum" for c in p.choices]
    plan = []
    for i, v in enumerate(variants):
        if i > 0 and v == base:
            continue
        callers = {0: (VIEWER, SESSION, ORG_ADMIN), 1: (VIEWER, ORG_ADMIN)}.get(i, (VIEWER,))
        plan += [(who, url, tuple(sorted(v.items()))) for who in callers]
    return list(dict.fromkeys(plan))


Pair = tuple[Request, Request, str, str]  # B's, a ghost's, B's id, the ghost id


def id_pairs(e: Endpoint, w: World) -> list[Pair]:
    """Pairs: a request naming one of B's ids, and the same naming an id that does not exist."""
    pairs = []
    path = {p.name: b_string(p) or 1 for p in e.params if p.where == "path"}
    for p in e.params:
        for b_id in b_ids(p, e, w):
            ghost = GHOST if isinstance(b_id, int) else str(uuid.UUID(int=1))
            real_q, ghost_q = dict(base_query(e)), dict(base_query(e))
            real_p, ghost_p = dict(path), dict(path)
            (real_p if p.where == "path" else real_q)[p.name] = b_id
            (ghost_p if p.where == "path" else ghost_q)[p.name] = ghost
            for who in (VIEWER, ORG_ADMIN):
                pairs.append(
                    (
                        (who, url_of(e, real_p), tuple(sorted(real_q.items()))),
                        (who, url_of(e, ghost_p), tuple(sorted(ghost_q.items()))),
                        str(b_id),
                        str(ghost),
                    )
                )
    return pairs


def gets(w: World) -> list[Endpoint]:
    return [e for e in endpoints(w.client.app) if e.method == "GET" and not e.public]


def build_world(
    client: TestClient, ledger: Ledger, clock: Any, make_user: MakeUser, browser: Any
) -> World:
    """Organisation A with events, an admin, a viewer (token and session) and an org admin."""
    clock.now = NOW
    ledger.write(_events(A, "alpha", 24))
    admin = make_user("root@admin.example", "admin")
    viewer = make_user("viewer@alpha.example", "viewer", A)
    org_admin = make_user("boss@alpha.example", "org_admin", A)
    session = browser()
    csrf = log_in(session, viewer)
    cookie = f"llmledger_session={session.cookies['llmledger_session']}"
    callers = {
        VIEWER: viewer.bearer,
        SESSION: {"Cookie": cookie, "X-CSRF-Token": csrf},
        ORG_ADMIN: org_admin.bearer,
    }
    quiet = TestClient(client.app, base_url="http://testserver", raise_server_exceptions=False)
    r = client.post("/api/v1/admin/ingest-keys", json={"orgId": A}, headers=admin.bearer)
    assert r.status_code == 201, r.text
    callers[INGEST] = {"Authorization": f"Bearer {r.json()['key']}"}
    for headers in callers.values():  # first use records "last used" before anything compares
        assert quiet.get("/api/v1/me", headers=headers).status_code == 200
    callers[ANONYMOUS] = {}
    return World(ledger, quiet, admin, viewer, org_admin, callers)
