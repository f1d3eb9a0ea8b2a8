"""Syncing a catalog (LiteLLM, or genai-prices' data) into price rows: diff, guard, apply.

A sync compares, model by model, the prices the source says hold from now on with the rows of
that source still in force. Equal: unchanged. Different: the stored rows are closed at the sync
time and the new prices start there (a sync never back-dates: past events keep the prices they
were priced with). Models the file lacks keep their last price (listed as ``missing``). Manual
rows are never touched; where one is in force it keeps winning over the synced row.

A sync whose model count falls more than 20% below the previous sync of the same source is
refused (a truncated or broken file would otherwise look like thousands of deletions).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select, update

from llmledger.pricing.catalog import AuditSink, lock_prices
from llmledger.pricing.convert import API_FIELDS, iso, row_json
from llmledger.pricing.litellm import Parsed
from llmledger.pricing.rows import CLASSES, PriceRow
from llmledger.pricing.seed import row_from_db, row_to_db
from llmledger.pricing.sources import Loaded
from llmledger.pricing.tables import price_rows, price_syncs
from llmledger.store.rows import from_us, to_us

MAX_SHRINK = 0.20
#: the source of the rows a sync writes
ROW_SOURCE = {"litellm": "litellm", "genai-prices": "bundled"}

Key = tuple[str, str]
Segment = tuple[dt.datetime, dt.datetime | None, PriceRow]


class SyncRefused(ValueError):
    """The sync was not applied (the catalog shrank too much)."""


@dataclass
class SyncPlan:
    source: str
    at: dt.datetime
    models: int
    added: dict[Key, list[Segment]] = field(default_factory=dict)
    changed: dict[Key, tuple[list[Segment], list[Segment]]] = field(default_factory=dict)
    unchanged: list[Key] = field(default_factory=list)
    missing: list[Key] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    manual: set[Key] = field(default_factory=set)
    names: dict[Key, tuple[str, str]] = field(default_factory=dict)


def _from_now(rows: list[PriceRow], at: dt.datetime) -> list[Segment]:
    """The parts of these rows still to be in force at or after ``at``."""
    live = [r for r in rows if r.effective_to is None or r.effective_to > at]
    live.sort(key=lambda r: (r.effective_from, r.id or 0))
    return [(max(r.effective_from, at), r.effective_to, r) for r in live]


def _same(a: list[Segment], b: list[Segment]) -> bool:
    return len(a) == len(b) and all(
        x[0] == y[0] and x[1] == y[1] and x[2].same_prices(y[2]) for x, y in zip(a, b, strict=True)
    )


def plan_sync(conn: Connection, source: str, parsed: Parsed, *, at: dt.datetime) -> SyncPlan:
    row_source = ROW_SOURCE[source]
    incoming: dict[Key, list[PriceRow]] = defaultdict(list)
    for row in parsed.rows:
        incoming[row.key].append(row)
    c = price_rows.c
    at_us = to_us(at)
    stored: dict[Key, list[PriceRow]] = defaultdict(list)
    manual: set[Key] = set()
    q = select(price_rows).where(
        c.source.in_((row_source, "manual")),
        or_(c.effective_to_us.is_(None), c.effective_to_us > at_us),
    )
    for r in conn.execute(q):
        row = row_from_db(r)
        if row.source == "manual":
            if row.effective_from <= at:
                manual.add(row.key)
        else:
            stored[row.key].append(row)
    plan = SyncPlan(source, at, len(incoming), skipped=list(parsed.skipped), manual=manual)
    for key, rows in incoming.items():
        plan.names[key] = (rows[0].provider, rows[0].model)
        want = _from_now(rows, at)
        have = _from_now(stored.get(key, []), at)
        if not want:
            continue
        if not have:
            plan.added[key] = want
        elif _same(want, have):
            plan.unchanged.append(key)
        else:
            plan.changed[key] = (have, want)
    for key, rows in stored.items():
        if key not in incoming and _from_now(rows, at):
            plan.missing.append(key)
            plan.names[key] = (rows[0].provider, rows[0].model)
    return plan


def last_sync(conn: Connection, source: str) -> dict[str, Any] | None:
    s = price_syncs.c
    row = conn.execute(
        select(price_syncs).where(s.source == source).order_by(s.id.desc()).limit(1)
    ).first()
    if row is None:
        return None
    m = row._mapping
    return {
        "at": iso(from_us(m["fetched_us"])),
        "location": m["location"],
        "sha256": m["sha256"],
        "models": m["models"],
        "by": m["changed_by"],
    }


def check_shrink(previous: dict[str, Any] | None, plan: SyncPlan) -> None:
    if plan.models == 0:
        raise SyncRefused("the catalog has no models that can be priced; nothing was changed")
    if previous is None or not previous["models"]:
        return
    floor = previous["models"] * (1 - MAX_SHRINK)
    if plan.models < floor:
        drop = 1 - plan.models / previous["models"]
        raise SyncRefused(
            f"the {plan.source} catalog has {plan.models} models, {drop:.0%} fewer than the "
            f"{previous['models']} models of the last sync ({previous['at']}); a sync may "
            f"shrink it by at most {MAX_SHRINK:.0%}. Check the file, or pass force to sync anyway"
        )


def _apply(conn: Connection, plan: SyncPlan, *, changed_by: str | None, now: dt.datetime) -> None:
    at_us = to_us(plan.at)
    closes = [
        {"rid": row.id, "end": at_us if row.effective_from < plan.at else to_us(row.effective_from)}
        for have, _ in plan.changed.values()
        for _, _, row in have
    ]
    if closes:
        conn.execute(
            update(price_rows)
            .where(price_rows.c.id == bindparam("rid"))
            .values(effective_to_us=bindparam("end")),
            closes,
        )
    new = [
        row_to_db(
            dataclasses.replace(
                row,
                effective_from=start,
                effective_to=end,
                id=None,
                changed_by=changed_by,
                changed_at=now,
            ),
            changed_us=to_us(now),
        )
        for segments in [*plan.added.values(), *(want for _, want in plan.changed.values())]
        for start, end, row in segments
    ]
    for i in range(0, len(new), 1000):
        conn.execute(price_rows.insert(), new[i : i + 1000])


def _prices(row: PriceRow) -> dict[str, Any]:
    full = row_json(row)
    keep = (*(API_FIELDS[c] for c in CLASSES), "perRequest", "tiers")
    return {k: full[k] for k in keep if full[k] not in (None, [])}


def plan_json(plan: SyncPlan) -> dict[str, Any]:
    def name(key: Key) -> dict[str, str]:
        provider, model = plan.names[key]
        return {"provider": provider, "model": model}

    return {
        "models": plan.models,
        "counts": {
            "added": len(plan.added),
            "changed": len(plan.changed),
            "unchanged": len(plan.unchanged),
            "skipped": len(plan.skipped),
            "missing": len(plan.missing),
        },
        "added": [
            {**name(k), **_prices(segs[0][2]), "overriddenByManual": k in plan.manual}
            for k, segs in sorted(plan.added.items())
        ],
        "changed": [
            {
                **name(k),
                "before": _prices(have[0][2]),
                "after": _prices(want[0][2]),
                "overriddenByManual": k in plan.manual,
            }
            for k, (have, want) in sorted(plan.changed.items())
        ],
        "unchanged": [name(k) for k in sorted(plan.unchanged)],
        "skipped": plan.skipped,
        "missing": [name(k) for k in sorted(plan.missing)],
    }


def run_sync(
    conn: Connection,
    source: str,
    loaded: Loaded,
    parsed: Parsed,
    *,
    now: dt.datetime,
    dry_run: bool,
    force: bool = False,
    changed_by: str | None = None,
    audit: AuditSink | None = None,
) -> dict[str, Any]:
    """Plan the sync and, unless ``dry_run``, apply it in the caller's transaction."""
    lock_prices(conn)
    plan = plan_sync(conn, source, parsed, at=now)
    previous = last_sync(conn, source)
    if not force:
        check_shrink(previous, plan)
    answer = {
        "source": source,
        "location": loaded.location,
        "sha256": loaded.sha256,
        "at": iso(now),
        "dryRun": dry_run,
        "previousSync": previous,
        **plan_json(plan),
    }
    if dry_run:
        return answer
    _apply(conn, plan, changed_by=changed_by, now=now)
    counts = answer["counts"]
    conn.execute(
        price_syncs.insert().values(
            source=source,
            location=loaded.location[:2000],
            sha256=loaded.sha256,
            models=plan.models,
            added=counts["added"],
            changed=counts["changed"],
            unchanged=counts["unchanged"],
            skipped=counts["skipped"],
            changed_by=changed_by,
            fetched_us=to_us(now),
        )
    )
    if audit is not None:
        audit.record(
            conn,
            action="price.sync",
            target=f"sync:{source}",
            before={"previousSync": previous},
            after={
                "location": loaded.location,
                "sha256": loaded.sha256,
                "counts": counts,
                "added": [f"{a['provider']}/{a['model']}" for a in answer["added"]][:1000],
                "changed": answer["changed"][:1000],
            },
        )
    return answer
