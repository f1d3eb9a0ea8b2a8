"""One alert round: evaluate every active rule and fire those that crossed.

A plain, idempotent function of the clock: ``llmledger serve`` runs it every
``LLMLEDGER_ALERTS_INTERVAL_SECONDS`` (``alerts.loop``), ``llmledger alerts check`` once, and
tests with any ``now``. Any number may run at once: the firings' unique key decides.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, Engine, select

from llmledger.alerts.evaluate import Evaluation, evaluate
from llmledger.alerts.fire import fire
from llmledger.alerts.rules import Rule
from llmledger.alerts.tables import alert_rules
from llmledger.metrics import metrics
from llmledger.store.retention import retention_cutoff_us
from llmledger.store.rows import to_us


@dataclass(frozen=True, slots=True)
class Round:
    evaluations: list[Evaluation]
    #: the ids of the firings this round wrote (not those another evaluator wrote)
    fired: list[int]


def active_rules(conn: Connection, *, org_id: str | None = None) -> list[Rule]:
    c = alert_rules.c
    q = select(alert_rules).where(c.is_active.is_(True)).order_by(c.id)
    if org_id is not None:
        q = q.where(c.org_id == org_id)
    return [Rule.from_row(r) for r in conn.execute(q)]


def raw_from(now: dt.datetime, retention_days: int) -> int:
    """Where raw events begin at ``now``: the retention cutoff."""
    return retention_cutoff_us(to_us(now), retention_days)


def check(
    engine: Engine,
    *,
    now: dt.datetime,
    retention_days: int = 90,
    drift_percent: Decimal | None = None,
) -> Round:
    """Evaluate every active rule at ``now`` and fire each WARNING or CRITICAL one that has not
    fired for its period, level and repeat key yet (a drift rule: each of its findings)."""
    raw_from_us = raw_from(now, retention_days)
    m = metrics()
    try:
        with engine.connect() as conn:
            evaluations = evaluate(
                conn,
                active_rules(conn),
                now=now,
                raw_from_us=raw_from_us,
                drift_percent=drift_percent,
            )
    except Exception:
        m.alert_evaluated("error")
        raise
    fired = []
    for ev in evaluations:
        if ev.state == "OK":
            m.alert_evaluated("ok")
            continue
        for part in ev.findings or (ev,):
            firing = fire(engine, part, now=now, raw_from_us=raw_from_us)
            if firing is not None:
                fired.append(firing)
            # crossed, but already fired for this period and level (here or by another node)
            m.alert_evaluated("fired" if firing is not None else "already-fired")
    return Round(evaluations, fired)
