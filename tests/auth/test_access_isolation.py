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

import hashlib
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from llmledger.ledger import Ledger
from llmledger.pricing.tables import reprice_jobs
from llmledger.store.schema import metadata
from tests.auth.conftest import MakeUser
from tests.auth.isolation import (
    ANONYMOUS,
    B_MARKERS,
    BODY_VALUES,
    DATES,
    INGEST,
    ORG_ADMIN,
    SESSION,
    VIEWER,
    A,
    B,
    World,
    b_ids,
    b_string,
    base_query,
    build_world,
    gets,
    id_pairs,
    load_b,
    string_plan,
    url_of,
)
from tests.auth.routes import Endpoint, endpoints, sample_body


@pytest.fixture
def world(client: TestClient, ledger: Ledger, clock, make_user: MakeUser, browser) -> World:
    return build_world(client, ledger, clock, make_user, browser)


def test_scoped_callers_see_nothing_of_another_organisation(
    world: World, make_user: MakeUser, browser
) -> None:
    w = world
    readers = gets(w)
    assert len(readers) >= 15
    plan = [r for e in readers for r in string_plan(e)]
    before = {r: w.get(r[0], r[1], dict(r[2])) for r in plan}
    load_b(w, make_user, browser)
    after = {r: w.get(r[0], r[1], dict(r[2])) for r in plan}
    changed = [r for r in plan if before[r] != after[r]]
    assert not changed, "B's data changed what A's callers see:\n" + "\n".join(
        f"{r}\n  before {before[r]!r:.300}\n  after  {after[r]!r:.300}" for r in changed[:8]
    )
    pairs = [pair for e in readers for pair in id_pairs(e, w)]
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
    load_b(world, make_user, browser)
    return world


def _fingerprint(ledger: Ledger) -> dict[str, str]:
    out = {}
    with ledger.engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows = sorted(repr(tuple(r)) for r in conn.execute(select(table)))
            out[table.name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return out


def _settled(ledger: Ledger) -> dict[str, str]:
    """The fingerprint once background work (a re-pricing job B's admin started) is done."""
    deadline = time.monotonic() + 60
    while _jobs_running(ledger) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _jobs_running(ledger), "a re-pricing job never finished"
    return _fingerprint(ledger)


def _jobs_running(ledger: Ledger) -> int:
    with ledger.engine.connect() as conn:
        running = select(func.count()).where(reprice_jobs.c.state == "running")
        return int(conn.execute(running).scalar_one())


def _attempts(e: Endpoint, w: World, *, b_only: bool) -> list[tuple[str, Any]]:
    """(url, body) tries at a state-changing endpoint: valid bodies for A and for B, with A's and
    B's ids in the path; with ``b_only``, only those that name B."""
    a_ids = [w.viewer.id, w.org_admin.id, w.admin.id, 1]
    path_params = [p for p in e.params if p.where == "path"]
    fillings: list[tuple[dict[str, Any], bool]] = [({}, False)]
    if path_params:
        fillings = []
        for p in path_params:
            rest = {q.name: b_string(q) or 1 for q in path_params if q is not p}
            b_values = b_ids(p, e, w) or ([b_string(p)] if p.kind == "string" else [])
            fillings += [({**rest, p.name: v}, True) for v in b_values]
            a_values = [A] if p.kind == "string" else a_ids
            fillings += [({**rest, p.name: v}, False) for v in a_values]
    bodies: list[tuple[Any, bool]] = [(None, False)]
    if e.body_schema is not None:
        props = e.body_schema.get("properties", {})
        orgs = (A, B) if "orgId" in props else (A,)
        bodies = [
            (sample_body(e.body_schema, w.spec, {"orgId": o, **BODY_VALUES}), o == B) for o in orgs
        ]
        if "userId" in props:
            users = w.b_ids["userId"]
            bodies += [(sample_body(e.body_schema, w.spec, {"userId": u}), True) for u in users]
    return [
        (url_of(e, values), body)
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


#: bodies a caller who may not use a route sends: none, an empty object, and broken JSON
BAD_BODIES: dict[str, dict[str, Any]] = {
    "no body": {},
    "empty object": {"json": {}},
    "malformed": {"content": b'{"orgId": ', "headers": {"Content-Type": "application/json"}},
}


def test_a_role_check_never_waits_for_a_well_formed_body(world: World) -> None:
    """Who may not change a thing learns nothing about how to: the role is checked before the
    body, so a viewer, an ingest key and an anonymous caller get 401, 403 or 404 from every admin
    write whatever they send, never a 422 that lists the fields it wants."""
    w = world
    changing = [e for e in endpoints(w.client.app) if e.changes_state and not e.public]
    before = _settled(w.ledger)
    tried, wrong = 0, []
    for e in changing:
        path = {p.name: A if p.kind == "string" else 1 for p in e.params if p.where == "path"}
        for who in (VIEWER, SESSION, INGEST, ANONYMOUS):
            if who != ANONYMOUS and e.self_service:
                continue  # anyone signed in may manage their own credentials
            if who == INGEST and e.path in ("/api/v1/events", "/v1/traces"):
                continue  # what ingest keys are for
            expected = {401} if who == ANONYMOUS else {403, 404}
            for kind, body in BAD_BODIES.items():
                headers = {**w.callers[who], **body.get("headers", {})}
                sent = {k: v for k, v in body.items() if k != "headers"}
                r = w.client.request(e.method, url_of(e, path), headers=headers, **sent)
                tried += 1
                if r.status_code not in expected:
                    wrong.append(f"{who}, {kind}: {e} -> {r.status_code} {r.text[:160]}")
    assert not wrong, "\n".join(wrong[:12])
    assert tried >= 100, tried
    assert _settled(w.ledger) == before


#: 500s found in other modules' endpoints and reported, not fixed here: (path, parameter)
KNOWN_DEFECTS: set[tuple[str, str]] = set()
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

    for e in gets(w):
        base = base_query(e)
        path = {p.name: b_string(p) or 1 for p in e.params if p.where == "path"}
        url = url_of(e, path)
        texts = [p for p in e.params if p.where == "query" and b_string(p) is not None]
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
                    check(url_of(e, {**path, p.name: value}), base, (e.path, p.name))
                else:
                    check(url, {**base, p.name: value}, (e.path, p.name))
    assert sent >= 200, sent
    assert not problems, "\n".join(problems[:20])
