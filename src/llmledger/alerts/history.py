"""Every alert ever fired, newest first, with each channel's delivery and its attempts."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, select

from llmledger.alerts.rules import mask
from llmledger.alerts.tables import alert_deliveries, alert_delivery_attempts, alert_firings
from llmledger.analytics.window import iso


def _target(channel: str, target: str) -> str | None:
    """What the history shows of a delivery's target: addresses whole, URLs masked."""
    return target if channel == "email" else mask(target)


def history(
    conn: Connection,
    *,
    org_id: str | None = None,
    scoped: bool = False,
    rule_id: int | None = None,
    level: str | None = None,
    start_us: int | None = None,
    end_us: int | None = None,
    limit: int = 50,
    cursor: int | None = None,
) -> dict[str, Any]:
    """Firings newest first (``cursor``: the previous page's ``nextCursor``); ``scoped``: only
    those of ``org_id``'s rules."""
    f = alert_firings.c
    q = select(alert_firings).order_by(f.id.desc()).limit(limit + 1)
    if scoped or org_id is not None:
        q = q.where(f.org_id == org_id)
    if rule_id is not None:
        q = q.where(f.rule_id == rule_id)
    if level is not None:
        q = q.where(f.level == level)
    if start_us is not None:
        q = q.where(f.fired_us >= start_us)
    if end_us is not None:
        q = q.where(f.fired_us < end_us)
    if cursor is not None:
        q = q.where(f.id < cursor)
    rows = conn.execute(q).all()
    more = len(rows) > limit
    rows = rows[:limit]
    deliveries = _deliveries(conn, [r.id for r in rows])
    entries = []
    for r in rows:
        d = r.details or {}
        entries.append(
            {
                "id": r.id,
                "ruleId": r.rule_id,
                "ruleName": d.get("ruleName"),
                "alertType": d.get("alertType"),
                "level": r.level,
                "orgId": r.org_id,
                "scope": d.get("scope", {}),
                "value": d.get("value"),
                "threshold": d.get("threshold"),
                "unit": d.get("unit"),
                "percentUsed": d.get("percentUsed"),
                "period": d.get("period"),
                "repeatKey": r.repeat_key,
                "firedAt": iso(r.fired_us),
                "message": d.get("message"),
                "details": d,
                "deliveries": deliveries.get(r.id, []),
            }
        )
    return {"firings": entries, "nextCursor": entries[-1]["id"] if more else None}


def _deliveries(conn: Connection, firing_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    if not firing_ids:
        return {}
    d, a = alert_deliveries.c, alert_delivery_attempts.c
    rows = conn.execute(
        select(alert_deliveries).where(d.firing_id.in_(firing_ids)).order_by(d.id)
    ).all()
    attempts: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if rows:
        found = conn.execute(
            select(alert_delivery_attempts)
            .where(a.delivery_id.in_([r.id for r in rows]))
            .order_by(a.id)
        )
        for t in found:
            attempts[t.delivery_id].append(
                {"at": iso(t.attempt_us), "ok": bool(t.ok), "detail": t.detail}
            )
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        out[r.firing_id].append(
            {
                "id": r.id,
                "channel": r.channel,
                "target": _target(r.channel, r.target),
                "status": r.status,
                "attempts": r.attempts,
                "nextAttemptAt": iso(r.next_attempt_us) if r.status == "pending" else None,
                "lastError": r.last_error,
                "sentAt": iso(r.sent_us) if r.sent_us is not None else None,
                "attemptLog": attempts.get(r.id, []),
            }
        )
    return out
