"""Tenant isolation over every route the app has (enumerated, so new endpoints are covered).

Organisation A's viewer and org admin read every GET endpoint — plain, with the organisation
filter pointed at organisation B, and with every other filter pointed at B's names — once before
B has any data, users, tokens or keys, and once after. The answers must be identical: B's
existence changes nothing a scoped caller of A can see. Asking for one of B's things by id must
answer exactly as asking for an id that does not exist (404). None of B's names may appear in
any answer.

Then viewers try every state-changing endpoint (except their own credentials) with valid bodies,
and org admins try every one with B's ids and ``orgId``: the database must not change. And every
parameter gets injection strings and oversized values: a 4xx or a clean answer, never a 500.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from llmledger.store import tables as t
from llmledger.store.schema import metadata
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
_BODY_VALUES = {
    "email": "someone@bravo.example",
    "password": "long enough password",
    "name": "bravo thing",
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


@pytest.fixture
def world(client: TestClient, ledger: Ledger, clock, make_user: MakeUser, browser) -> World:
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
    for headers in callers.values():  # first use records "last used" before anything compares
        assert quiet.get("/api/v1/me", headers=headers).status_code == 200
    return World(ledger, quiet, admin, viewer, org_admin, callers)


def _load_b(w: World, make_user: MakeUser, browser) -> None:
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
        body = sample_body(e.body_schema or {}, w.spec, {"orgId": B, **_BODY_VALUES})
        r = w.client.post(e.path, json=body, headers=admin)
        answer = r.json() if r.status_code < 300 else {}
        for name, value in answer.items() if isinstance(answer, dict) else ():
            if name == "id":
                w.created.setdefault(e.path, []).append(value)
            elif name.endswith("Id") and name != "orgId" and isinstance(value, int | str):
                w.b_ids.setdefault(name, []).append(value)


def _b_string(p: Param) -> str | None:
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


def _b_ids(p: Param, e: Endpoint, w: World) -> list[Any]:
    """B's ids for a parameter: what B's POST to the same collection made, and B's ids of that
    name. (Ids of other tables mean other things: a price row is nobody's.)"""
    if p.name.lower() in NOT_FILTERS:
        return []
    made = w.created.get(e.path.split("/{")[0], []) if p.where == "path" else []
    wanted = int if p.kind == "integer" else str
    return [v for v in dict.fromkeys([*made, *w.b_ids.get(p.name, [])]) if isinstance(v, wanted)]


def _base(e: Endpoint) -> dict[str, Any]:
    """Query values every request of ``e`` carries: dates, and required parameters."""
    q: dict[str, Any] = {}
    for p in e.params:
        if p.where == "query" and p.name in DATES:
            q[p.name] = DATES[p.name]
        elif p.where == "query" and p.required:
            q[p.name] = "gpt-4o" if "model" in p.name.lower() else (p.choices or [A])[0]
    return q


def _url(e: Endpoint, values: dict[str, Any]) -> str:
    return fill_path(e.path, {k: quote(str(v), safe="") for k, v in values.items()})


Request = tuple[str, str, tuple[tuple[str, Any], ...]]  # caller, url, sorted params


def _string_plan(e: Endpoint) -> list[Request]:
    """Requests that name B only by strings (which mean nothing before B exists): plain, with
    ``orgId`` = B, with every other filter on B's names at once, and each enum choice."""
    path = {p.name: _b_string(p) for p in e.params if p.where == "path"}
    if any(v is None for v in path.values()):
        return []  # integer ids: see _id_pairs
    url, base = _url(e, path), _base(e)
    query = [p for p in e.params if p.where == "query"]
    by_org = {**base, **{p.name: B for p in query if p.name == "orgId"}}
    others = {p.name: v for p in query if p.name != "orgId" and (v := _b_string(p)) is not None}
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


def _id_pairs(e: Endpoint, w: World) -> list[Pair]:
    """Pairs: a request naming one of B's ids, and the same naming an id that does not exist."""
    pairs = []
    path = {p.name: _b_string(p) or 1 for p in e.params if p.where == "path"}
    for p in e.params:
        for b_id in _b_ids(p, e, w):
            ghost = GHOST if isinstance(b_id, int) else str(uuid.UUID(int=1))
            real_q, ghost_q = dict(_base(e)), dict(_base(e))
            real_p, ghost_p = dict(path), dict(path)
            (real_p if p.where == "path" else real_q)[p.name] = b_id
            (ghost_p if p.where == "path" else ghost_q)[p.name] = ghost
            for who in (VIEWER, ORG_ADMIN):
                pairs.append(
                    (
                        (who, _url(e, real_p), tuple(sorted(real_q.items()))),
                        (who, _url(e, ghost_p), tuple(sorted(ghost_q.items()))),
                        str(b_id),
                        str(ghost),
                    )
                )
    return pairs


def _gets(w: World) -> list[Endpoint]:
    return [e for e in endpoints(w.client.app) if e.method == "GET" and not e.public]


def test_scoped_callers_see_nothing_of_another_organisation(
    world: World, make_user: MakeUser, browser
) -> None:
    w = world
    gets = _gets(w)
    assert len(gets) >= 15
    plan = [r for e in gets for r in _string_plan(e)]
    before = {r: w.get(r[0], r[1], dict(r[2])) for r in plan}
    _load_b(w, make_user, browser)
    after = {r: w.get(r[0], r[1], dict(r[2])) for r in plan}
    changed = [r for r in plan if before[r] != after[r]]
    assert not changed, "B's data changed what A's callers see:\n" + "\n".join(
        f"{r}\n  before {before[r]!r:.300}\n  after  {after[r]!r:.300}" for r in changed[:8]
    )
    pairs = [pair for e in gets for pair in _id_pairs(e, w)]
    assert len(pairs) >= 6
    differ = []
    for real, ghost, b_id, ghost_id in pairs:
        got, nothing = w.get(real[0], real[1], dict(real[2])), w.get(*ghost[:2], dict(ghost[2]))
        after[real] = got
        if (got[0], got[1].replace(b_id, "<id>")) != (
            nothing[0],
            nothing[1].replace(ghost_id, "<id>"),
        ):
            differ.append(
                f"{real}: {got!r:.200}\n  but for an id that does not exist {nothing!r:.200}"
            )
    assert not differ, "B's ids answer unlike ids that do not exist:\n" + "\n".join(differ[:8])
    errors = [f"{r}: {a!r:.300}" for r, a in after.items() if a[0] >= 500]
    assert not errors, "\n".join(errors[:8])
    leaks = [
        (r, m)
        for r, (_, text) in after.items()
        for m in B_MARKERS
        if m in text and m not in repr(r)  # an echo of the caller's own words is no leak
    ]
    assert not leaks, f"B's names reached A's callers: {leaks[:8]}"
    sees_own = sum("alpha-agent" in text for status, text in after.values() if status == 200)
    assert sees_own >= 10, "A's callers should see A's own data"


@pytest.fixture
def loaded(world: World, make_user: MakeUser, browser) -> World:
    _load_b(world, make_user, browser)
    return world


def _fingerprint(ledger: Ledger) -> dict[str, str]:
    out = {}
    with ledger.engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows = sorted(repr(tuple(r)) for r in conn.execute(select(table)))
            out[table.name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return out


def _settled(ledger: Ledger) -> dict[str, str]:
    """The fingerprint once background work (e.g. a re-pricing job B's admin started) is done."""
    last, deadline = _fingerprint(ledger), time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = _fingerprint(ledger)
        if now == last:
            return now
        last = now
    return last


def _attempts(e: Endpoint, w: World, *, b_only: bool) -> list[tuple[str, Any]]:
    """(url, body) tries at a state-changing endpoint: valid bodies for A and for B, with A's and
    B's ids in the path; with ``b_only``, only those that name B."""
    a_ids = [w.viewer.id, w.org_admin.id, w.admin.id, 1]
    path_params = [p for p in e.params if p.where == "path"]
    fillings: list[tuple[dict[str, Any], bool]] = [({}, False)]
    if path_params:
        fillings = []
        for p in path_params:
            rest = {q.name: _b_string(q) or 1 for q in path_params if q is not p}
            b_values = _b_ids(p, e, w) or ([_b_string(p)] if p.kind == "string" else [])
            fillings += [({**rest, p.name: v}, True) for v in b_values]
            a_values = [A] if p.kind == "string" else a_ids
            fillings += [({**rest, p.name: v}, False) for v in a_values]
    bodies: list[tuple[Any, bool]] = [(None, False)]
    if e.body_schema is not None:
        props = e.body_schema.get("properties", {})
        orgs = (A, B) if "orgId" in props else (A,)
        bodies = [
            (sample_body(e.body_schema, w.spec, {"orgId": o, **_BODY_VALUES}), o == B) for o in orgs
        ]
        if "userId" in props:
            users = w.b_ids["userId"]
            bodies += [(sample_body(e.body_schema, w.spec, {"userId": u}), True) for u in users]
    return [
        (_url(e, values), body)
        for values, names_b in fillings
        for body, body_b in bodies
        if not b_only or names_b or body_b
    ]


def test_viewers_change_nothing_and_nobody_changes_another_organisation(loaded: World) -> None:
    w = loaded
    changing = [e for e in endpoints(w.client.app) if e.changes_state and not e.public]
    assert len(changing) >= 8
    before = _settled(w.ledger)
    tried, wrong = 0, []
    for e in changing:
        for who in (VIEWER, SESSION, ORG_ADMIN):
            # viewers may touch only their own credentials, org admins only their organisation
            b_only = who == ORG_ADMIN or e.self_service
            for url, body in _attempts(e, w, b_only=b_only):
                r = w.client.request(e.method, url, json=body, headers=w.callers[who])
                tried += 1
                if not 400 <= r.status_code < 500:
                    wrong.append(f"{who}: {e.method} {url} {body!r:.100} -> {r.text[:200]}")
    assert not wrong, "\n".join(wrong[:10])
    assert tried >= 40
    after = _settled(w.ledger)
    assert before == after, [name for name in before if before[name] != after[name]]


#: 500s found in other modules' endpoints and reported, not fixed here: (path, parameter)
KNOWN_DEFECTS = {
    # a NUL in the session id reaches PostgreSQL, which refuses it (analytics_log.get_session
    # does not clean the path value as the query filters do)
    ("/api/v1/admin/llm-costs/sessions/{sessionId}", "sessionId"),
    # pricing: a NUL in ``search``/``provider`` reaches PostgreSQL; a row id above 2**31
    # overflows PostgreSQL's integer column (the path allows up to 2**62)
    ("/api/v1/admin/pricing/models", "search"),
    ("/api/v1/admin/pricing/models", "provider"),
    ("/api/v1/admin/pricing/models/{id}", "id"),
    ("/api/v1/admin/pricing/models/{id}/history", "id"),
}
#: values that pass a text parameter's declared checks and reach the query
REACHING = [f"{B}' OR '1'='1", "%_*\\", "é🙂\u202e\t; DROP TABLE x"]
#: values that must be refused before any query (or match nothing)
REFUSED = ["a\x00b", "x" * 5000]
BY_KIND = {
    "integer": ["-1", "4294967296", "99999999999999999999", "' OR 1=1"],
    "number": ["-1", "1e309", "NaN", "' OR 1=1"],
    "boolean": ["maybe", "x" * 5000],
    "enum": ["' OR 1=1", "x" * 5000],
}
#: dates are parsed by one function everywhere: both at once, one request per value
DATE_VALUES = ["' OR 1=1", "0001-01-01", "99999-01-01", "2026-11-01T00:00+99:00", *REFUSED]


def test_hostile_parameter_values_get_a_4xx_or_a_clean_answer(loaded: World) -> None:
    w = loaded
    problems: list[str] = []
    sent = 0

    def check(url: str, params: dict[str, Any], where: tuple[str, str] = ("", "")) -> int:
        nonlocal sent
        sent += 1
        status, text = w.get(VIEWER, url, params)
        if status >= 500 and where not in KNOWN_DEFECTS:
            problems.append(f"GET {url} {params!r:.200} -> {status}")
        said = repr(params) + url
        leaked = [m for m in B_MARKERS if m in text and m not in said]
        if leaked:
            problems.append(f"GET {url} {params!r:.200} leaked {leaked}")
        return status

    for e in _gets(w):
        base = _base(e)
        path = {p.name: _b_string(p) or 1 for p in e.params if p.where == "path"}
        url = _url(e, path)
        texts = [p for p in e.params if p.where == "query" and _b_string(p) is not None]
        for value in REACHING:  # all text filters at once; one by one if that is refused
            if texts and check(url, {**base, **{p.name: value for p in texts}}) == 422:
                for p in texts:
                    check(url, {**base, p.name: value}, (e.path, p.name))
        dates = [p.name for p in e.params if p.name in DATES]
        for value in DATE_VALUES if dates else ():
            check(url, {**base, **dict.fromkeys(dates, value)}, (e.path, "dates"))
        for p in e.params:
            if p.name in DATES:
                continue
            for value in BY_KIND.get(p.kind, REFUSED):
                if p.where == "path":
                    check(_url(e, {**path, p.name: value}), base, (e.path, p.name))
                else:
                    check(url, {**base, p.name: value}, (e.path, p.name))
    assert sent >= 200, sent
    assert not problems, "\n".join(problems[:20])
