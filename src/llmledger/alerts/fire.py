"""Firing: a rule that crossed writes its firing and one outbox row per channel, together.

The unique key of ``alert_firings`` on (rule, period key, level, repeat key) decides who fires
when several evaluators run at once: the insert says "on conflict do nothing", so exactly one
of them gets a row back, and only that one writes the outbox rows, in the same transaction.
The others write nothing. ``repeat_key`` carries ``notificationFrequency``: empty for
``once``, the UTC hour for ``hourly``, the check's instant for ``every_check``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection, Engine, Insert, select
from sqlalchemy.dialects import postgresql, sqlite

from llmledger.alerts.drift import drift_contributors, drift_scope, drift_text
from llmledger.alerts.evaluate import Evaluation
from llmledger.alerts.periods import hour_key
from llmledger.alerts.rules import DRIFT, SCOPE, Rule
from llmledger.alerts.tables import alert_deliveries, alert_firings
from llmledger.analytics.filters import Filters
from llmledger.analytics.source import aggregate
from llmledger.analytics.window import iso
from llmledger.auth.writing import writing
from llmledger.money import NANOS_PER_USD
from llmledger.store.rows import to_us

DASHBOARD = "/admin/llm-costs"
#: the dimensions contributors are listed by, in the order the first one the scope leaves
#: open is chosen: (its name in details, its columns)
CONTRIBUTORS = (("orgId", ("org_id",)), ("model", ("provider", "model")), ("agent", ("agent",)))


def repeat_key(rule: Rule, now: dt.datetime) -> str:
    now_us = to_us(now)
    if rule.notification_frequency == "hourly":
        return hour_key(now_us)
    if rule.notification_frequency == "every_check":
        return iso(now_us)
    return ""


def channels(rule: Rule) -> list[tuple[str, str]]:
    """``(channel, target)`` for each channel the rule has: the addresses, or the URL."""
    out = []
    if rule.notification_emails:
        out.append(("email", ", ".join(rule.notification_emails)))
    if rule.slack_webhook_url:
        out.append(("slack", rule.slack_webhook_url))
    if rule.webhook_url:
        out.append(("webhook", rule.webhook_url))
    return out


def filters_of(rule: Rule, **extra: Any) -> Filters:
    return Filters(**{c: getattr(rule, c) for c in SCOPE.values()}, **extra)


def _money(nanos: int | float) -> str:
    return f"${Decimal(int(nanos)) / NANOS_PER_USD:,.2f}"


def _scope_text(rule: Rule) -> str:
    if not rule.scope:
        return "across the platform"
    return "for " + ", ".join(f"{k} {v}" for k, v in rule.scope.items())


def message(ev: Evaluation, level: str) -> str:
    """One line: what crossed, value against threshold, the period, the scope."""
    rule, period = ev.rule, ev.period
    pct = f"{ev.percent_used:g}%" if ev.percent_used is not None else "-"
    where = f"({period.timezone})"
    kind = rule.alert_type
    if kind == DRIFT:
        return f"{level}: {rule.name}: {drift_text(ev)}"
    if kind == "error_rate":
        what = (
            f"{ev.value:.2f}% of {ev.extra.get('requests', 0)} requests failed in the 60 minutes "
            f"to {iso(period.end_us)}, against {ev.threshold:g}%"
        )
    elif kind == "cost_spike":
        what = (
            f"{_money(ev.value)} spent in the hour {period.key}, against "
            f"{_money(ev.threshold or 0)} ({pct}; the mean hour of the week before: "
            f"${ev.extra.get('meanHourUsd', 0):,.2f})"
        )
    elif kind == "forecast_overrun":
        what = (
            f"{_money(ev.value)} projected for {period.key} {where}, against "
            f"{_money(ev.threshold or 0)} ({pct})"
        )
    else:
        when = {"daily_limit": "on", "weekly_limit": "in week", "monthly_limit": "in"}[kind]
        what = (
            f"{_money(ev.value)} of {_money(ev.threshold or 0)} ({pct}) spent {when} "
            f"{period.key} {where}"
        )
    return f"{level}: {rule.name}: {what} {_scope_text(rule)}"


def link(ev: Evaluation) -> str:
    """The dashboard view behind the value: its scope and the range it counts."""
    rule = ev.rule
    params: dict[str, str] = {"startDate": iso(ev.measured[0]), "endDate": iso(ev.measured[1])}
    params.update(rule.scope)
    path = DASHBOARD
    if rule.alert_type == DRIFT:
        # the request log of the day's provider (and model, when one drifted), whose events
        # are what was tracked; the reconciliation itself is on the providers pages
        path, params = f"{DASHBOARD}/requests", params | drift_scope(ev)
    elif rule.alert_type == "error_rate":
        path, params["success"] = f"{DASHBOARD}/requests", "false"
    return f"{path}?{urlencode(params)}"


def contributors(conn: Connection, ev: Evaluation, *, raw_from_us: int) -> list[dict[str, Any]]:
    """The top three of the first dimension the scope leaves open, by the value's measure."""
    rule = ev.rule
    if rule.alert_type == DRIFT:
        return drift_contributors(ev)
    errors = rule.alert_type == "error_rate"
    measure = "requests" if errors else "cost_nanos"
    filters = filters_of(rule, success=False if errors else None)
    open_dims = [
        (name, cols) for name, cols in CONTRIBUTORS if all(getattr(rule, c) is None for c in cols)
    ]
    if not open_dims or ev.measured[1] <= ev.measured[0]:
        return []
    name, cols = open_dims[0]
    rows, _ = aggregate(
        conn,
        [ev.measured],
        filters,
        dims=cols,
        measures=(measure,),
        top=(measure, 3),
        raw_from_us=raw_from_us,
    )
    (total_row,), _ = aggregate(
        conn, [ev.measured], filters, measures=(measure,), raw_from_us=raw_from_us
    )
    total = total_row[measure]
    out = []
    for row in rows:
        if not row[measure]:
            continue
        label = "/".join(row[c] or "(none)" for c in cols)
        item: dict[str, Any] = {
            "dimension": name,
            "name": label,
            "value": row[measure] if errors else round(row[measure] / NANOS_PER_USD, 9),
            "share": round(row[measure] * 100 / total, 2) if total else None,
        }
        if errors:
            item["unit"] = "requests"
        out.append(item)
    return out


def details(
    conn: Connection, ev: Evaluation, level: str, *, now: dt.datetime, raw_from_us: int = 0
) -> dict[str, Any]:
    """What a firing holds (docs/alerts.md, "What a firing holds")."""
    usd = ev.unit == "usd"
    return {
        "ruleId": ev.rule.id,
        "ruleName": ev.rule.name,
        "alertType": ev.rule.alert_type,
        "action": ev.rule.action,
        "level": level,
        "scope": ev.rule.scope,
        "period": ev.period.as_json(),
        "value": ev.shown(ev.value),
        "threshold": ev.shown(ev.threshold),
        "unit": ev.unit,
        "percentUsed": ev.percent_used,
        "valueNanos": int(ev.value) if usd else None,
        "thresholdNanos": int(ev.threshold) if usd and ev.threshold is not None else None,
        "figures": ev.extra,
        "contributors": contributors(conn, ev, raw_from_us=raw_from_us),
        "link": link(ev),
        "message": message(ev, level),
        "firedAt": iso(to_us(now)),
        "test": False,
    }


def _insert_once(conn: Connection) -> Insert:
    """An insert of a firing that does nothing when the rule already fired."""
    keys = ["rule_id", "period_key", "level", "repeat_key"]
    if conn.dialect.name == "postgresql":
        return postgresql.insert(alert_firings).on_conflict_do_nothing(index_elements=keys)
    return sqlite.insert(alert_firings).on_conflict_do_nothing(index_elements=keys)


def fired(conn: Connection, rule: Rule, period_key: str, level: str, repeat: str) -> bool:
    c = alert_firings.c
    q = select(c.id).where(
        c.rule_id == rule.id, c.period_key == period_key, c.level == level, c.repeat_key == repeat
    )
    return conn.execute(q).first() is not None


def fire(engine: Engine, ev: Evaluation, *, now: dt.datetime, raw_from_us: int = 0) -> int | None:
    """Fire ``ev``'s level (WARNING or CRITICAL) unless it already fired for this period and
    repeat key: the firing's id, or ``None`` when it had (here or in another evaluator)."""
    if ev.state == "OK":
        return None
    rule, level = ev.rule, ev.state
    repeat = repeat_key(rule, now)
    with engine.connect() as conn:
        if fired(conn, rule, ev.period.key, level, repeat):
            return None  # the usual case once a rule has fired: no contributors to count
        what = details(conn, ev, level, now=now, raw_from_us=raw_from_us)
    now_us = to_us(now)
    with writing(engine) as conn:
        q = _insert_once(conn).values(
            rule_id=rule.id,
            period_key=ev.period.key,
            level=level,
            repeat_key=repeat,
            period_start_us=ev.period.start_us,
            period_end_us=ev.period.end_us,
            fired_us=now_us,
            org_id=rule.org_id,
            details=what,
        )
        firing_id = conn.execute(q.returning(alert_firings.c.id)).scalar()
        if firing_id is None:
            return None  # another evaluator fired it first
        for channel, target in channels(rule):
            conn.execute(
                alert_deliveries.insert().values(
                    firing_id=firing_id,
                    channel=channel,
                    target=target,
                    status="pending",
                    attempts=0,
                    next_attempt_us=now_us,
                    created_us=now_us,
                )
            )
    return int(firing_id)
