"""Rules, firings and their outbox rows written straight into the database, as a firing's
transaction leaves them, for the sender to find."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, insert, select

from llmledger.alerts.tables import (
    alert_deliveries,
    alert_delivery_attempts,
    alert_firings,
    alert_rules,
)

T0 = int(dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC).timestamp()) * 1_000_000
SECRET = "whsec_3bd1c7f0a9e2416b8d5c"


def add_rule(engine: Engine, **over: Any) -> int:
    values: dict[str, Any] = {
        "name": "Acme daily spend",
        "org_id": "acme",
        "alert_type": "daily_limit",
        "threshold_cents": 10_000,
        "webhook_secret": SECRET,
        "timezone": "Europe/Paris",
        "created_us": T0,
        "updated_us": T0,
        **over,
    }
    with engine.begin() as conn:
        return int(conn.execute(insert(alert_rules).values(**values)).inserted_primary_key[0])


def details(rule_id: int, **over: Any) -> dict[str, Any]:
    return {
        "ruleId": rule_id,
        "ruleName": "Acme daily spend",
        "alertType": "daily_limit",
        "level": "CRITICAL",
        "scope": {"orgId": "acme"},
        "period": {
            "key": "2026-12-07",
            "start": "2026-12-07T00:00:00+01:00",
            "end": "2026-12-08T00:00:00+01:00",
            "timezone": "Europe/Paris",
        },
        "value": "104.25",
        "threshold": "100.00",
        "unit": "usd",
        "percentUsed": 104.3,
        "contributors": [
            {"dimension": "model", "name": "gpt-4o", "value": "70.00"},
            {"dimension": "model", "name": "claude-sonnet-4", "value": "30.00"},
            {"dimension": "model", "name": "gpt-4o-mini", "value": "4.25"},
        ],
        "link": "/requests?orgId=acme&from=2026-12-07&to=2026-12-08",
        "message": "Daily spend of $104.25 crossed the limit of $100.00",
        **over,
    }


def fire(
    engine: Engine,
    rule_id: int,
    channels: dict[str, str],
    *,
    level: str = "CRITICAL",
    period_key: str = "2026-12-07",
    now_us: int = T0,
) -> tuple[int, dict[str, int]]:
    """A firing and one pending delivery per channel (``{"email": "a@x, b@y", ...}``), in one
    transaction as the evaluator writes them: the firing's id and each channel's delivery id."""
    with engine.begin() as conn:
        firing_id = int(
            conn.execute(
                insert(alert_firings).values(
                    rule_id=rule_id,
                    period_key=period_key,
                    level=level,
                    repeat_key="",
                    period_start_us=now_us - 15 * 3600 * 1_000_000,
                    period_end_us=now_us + 9 * 3600 * 1_000_000,
                    fired_us=now_us,
                    org_id="acme",
                    details=details(rule_id, level=level),
                )
            ).inserted_primary_key[0]
        )
        ids = {}
        for channel, target in channels.items():
            ids[channel] = int(
                conn.execute(
                    insert(alert_deliveries).values(
                        firing_id=firing_id,
                        channel=channel,
                        target=target,
                        status="pending",
                        next_attempt_us=now_us,
                        created_us=now_us,
                    )
                ).inserted_primary_key[0]
            )
    return firing_id, ids


def delivery(engine: Engine, delivery_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            select(alert_deliveries).where(alert_deliveries.c.id == delivery_id)
        ).one()


def attempts(engine: Engine, delivery_id: int) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(alert_delivery_attempts)
                .where(alert_delivery_attempts.c.delivery_id == delivery_id)
                .order_by(alert_delivery_attempts.c.id)
            )
        )
