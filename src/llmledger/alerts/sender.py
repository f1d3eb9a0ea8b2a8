"""The sender: it delivers the outbox (``alert_deliveries``) with retries, and sends tests.

A firing writes its deliveries in its own transaction, all ``pending``; ``deliver_due`` sends
those due. Each row is first *claimed*: one ``UPDATE`` sets a lease only if nobody holds one,
so when several senders run at once (app nodes, ``llmledger alerts check``) exactly one of them
sends each row, on SQLite and PostgreSQL alike. The send happens outside any transaction; its
outcome is recorded as an ``alert_delivery_attempts`` row and the delivery is marked ``sent``
or scheduled again after a growing delay, and ``given_up`` when the delays run out (about an
hour). Every row stands alone: a failing or slow channel never stops the others.

A sender that dies while it holds a lease leaves the row to be taken again once the lease ends
(``LEASE_SECONDS``); if it died after the message went out and before it recorded that, the
message is sent twice. Nothing is lost; webhook receivers can drop repeats by
``X-LLMLedger-Delivery``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Engine, and_, insert, or_, select, update

from llmledger.alerts import channels, messages
from llmledger.alerts.channels import Result
from llmledger.alerts.destinations import Resolver, validate_email
from llmledger.alerts.rules import mask
from llmledger.alerts.tables import (
    alert_deliveries,
    alert_delivery_attempts,
    alert_firings,
    alert_rules,
)
from llmledger.auth.writing import writing
from llmledger.metrics import metrics
from llmledger.settings import Settings

__all__ = ["GIVE_UP_SECONDS", "RETRY_DELAYS_SECONDS", "deliver_due", "next_delay", "send_test"]

log = logging.getLogger(__name__)

#: the wait before each retry; when they run out the delivery is given up (about an hour)
RETRY_DELAYS_SECONDS = (30, 60, 120, 240, 480, 900, 900, 900)
GIVE_UP_SECONDS = sum(RETRY_DELAYS_SECONDS)
#: how long a claimed row is held: longer than the slowest send (timeouts included)
LEASE_SECONDS = 300
US = 1_000_000


def next_delay(attempts: int) -> int | None:
    """Seconds until the next try after ``attempts`` failed ones; ``None``: give up."""
    if attempts > len(RETRY_DELAYS_SECONDS):
        return None
    return RETRY_DELAYS_SECONDS[attempts - 1]


def deliver_due(
    engine_or_ledger: Any,
    settings: Settings,
    *,
    now_us: int | None = None,
    clock: Callable[[], int] | None = None,
    limit: int = 100,
    resolver: Resolver | None = None,
) -> int:
    """Send the deliveries due at ``now_us`` (default: ``clock()``, else the system clock, in
    microseconds), at most ``limit``; the number sent. Safe to run in several processes."""
    engine: Engine = getattr(engine_or_ledger, "engine", engine_or_ledger)
    now = now_us if now_us is not None else (clock() if clock else int(time.time() * US))
    with engine.connect() as conn:
        due = conn.execute(
            select(alert_deliveries.c.id)
            .where(alert_deliveries.c.status == "pending")
            .where(alert_deliveries.c.next_attempt_us <= now)
            .where(_unleased(now))
            .order_by(alert_deliveries.c.next_attempt_us, alert_deliveries.c.id)
            .limit(limit)
        ).all()
    sent = 0
    for (delivery_id,) in due:
        lease = now + LEASE_SECONDS * US
        if not _claim(engine, delivery_id, now, lease):
            continue  # another sender has it
        try:
            result = _send(engine, settings, delivery_id, resolver)
        except Exception as exc:  # a bug must not stop the other rows, nor lose this one
            log.exception("alert delivery %s failed", delivery_id)
            result = _Outcome(Result("?", "", False, f"internal error: {exc!r}"[:300]))
        status = _record(engine, delivery_id, now, lease, result)
        metrics().alert_delivered(_channel_label(result.result.channel), status)
        sent += result.result.ok
    return sent


def send_test(
    rule: Mapping[str, Any],
    settings: Settings,
    *,
    now_us: int | None = None,
    resolver: Resolver | None = None,
) -> list[Result]:
    """Send a test message to every channel of ``rule`` (a row of ``alert_rules`` or its API
    form), now, without the outbox; each channel's result."""
    now = now_us if now_us is not None else int(time.time() * US)
    r = _rule_fields(rule)
    threshold = r["threshold_cents"]
    unit = "percent" if r["alert_type"] == "error_rate" else "usd"
    value = r["threshold_percent"] if unit == "percent" else _cents(threshold)
    details = {
        "ruleId": r["id"],
        "ruleName": r["name"],
        "alertType": r["alert_type"],
        "level": "CRITICAL",
        "scope": {k: r[col] for k, col in _SCOPE.items() if r[col]},
        "period": {"key": "test", "start": now, "end": now, "timezone": r["timezone"] or "UTC"},
        "value": value,
        "threshold": value,
        "unit": unit,
        "percentUsed": 100,
        "contributors": [],
        "link": "/",
        "message": f"A test of the alert rule {r['name']!r}: nothing crossed.",
    }
    n = messages.notice(details, public_url=settings.public_url, test=True)
    results = []
    if r["notification_emails"]:
        results.append(_email(settings, n, r["notification_emails"]))
    if r["slack_webhook_url"]:
        results.append(
            channels.send_slack(
                settings, r["slack_webhook_url"], messages.slack_payload(n), resolver=resolver
            )
        )
    if r["webhook_url"]:
        body = messages.webhook_body(n, firing_id=None, delivery_id=None, fired_us=now)
        results.append(
            channels.send_webhook(
                settings,
                r["webhook_url"],
                body,
                secret=r["webhook_secret"] or "",
                delivery_id=None,
                event="alert.test",
                resolver=resolver,
            )
        )
    return results


# -- one delivery ------------------------------------------------------------------------------


class _Outcome:
    def __init__(self, result: Result, *, final: bool = False) -> None:
        self.result = result
        self.final = final  # no retry can help (the firing or the rule is gone)


def _unleased(now: int) -> Any:
    return or_(alert_deliveries.c.lease_until_us.is_(None), alert_deliveries.c.lease_until_us < now)


def _claim(engine: Engine, delivery_id: int, now: int, lease: int) -> bool:
    # ``writing``: BEGIN IMMEDIATE on SQLite; a deferred transaction that reads and then writes
    # fails at once with "database is locked" when another sender writes at the same moment
    with writing(engine) as conn:
        claimed = conn.execute(
            update(alert_deliveries)
            .where(alert_deliveries.c.id == delivery_id)
            .where(alert_deliveries.c.status == "pending")
            .where(alert_deliveries.c.next_attempt_us <= now)
            .where(_unleased(now))
            .values(lease_until_us=lease)
        )
        return claimed.rowcount == 1


def _send(
    engine: Engine, settings: Settings, delivery_id: int, resolver: Resolver | None
) -> _Outcome:
    with engine.connect() as conn:
        delivery = conn.execute(
            select(alert_deliveries).where(alert_deliveries.c.id == delivery_id)
        ).one()
        firing = conn.execute(
            select(alert_firings).where(alert_firings.c.id == delivery.firing_id)
        ).one_or_none()
        rule = None
        if firing is not None:
            rule = conn.execute(
                select(alert_rules).where(alert_rules.c.id == firing.rule_id)
            ).one_or_none()
    channel, target = delivery.channel, delivery.target
    if firing is None:
        return _Outcome(Result(channel, "", False, "the firing no longer exists"), final=True)
    details = firing.details if isinstance(firing.details, dict) else json.loads(firing.details)
    n = messages.notice(details, public_url=settings.public_url)
    if channel == "email":
        return _Outcome(_email(settings, n, _addresses(target)))
    if channel == "slack":
        return _Outcome(
            channels.send_slack(settings, target, messages.slack_payload(n), resolver=resolver)
        )
    if channel == "webhook":
        if rule is None or not rule.webhook_secret:
            why = "the rule was deleted" if rule is None else "the rule has no signing secret"
            return _Outcome(Result(channel, mask(target), False, why), final=True)
        body = messages.webhook_body(
            n, firing_id=firing.id, delivery_id=delivery_id, fired_us=firing.fired_us
        )
        return _Outcome(
            channels.send_webhook(
                settings,
                target,
                body,
                secret=rule.webhook_secret,
                delivery_id=delivery_id,
                event="alert.fired",
                resolver=resolver,
            )
        )
    return _Outcome(Result(channel, "", False, f"unknown channel {channel!r}"), final=True)


def _channel_label(channel: str) -> str:
    # a label's values stay few: a channel llmledger does not know is "other"
    return channel if channel in ("email", "slack", "webhook") else "other"


def _record(engine: Engine, delivery_id: int, now: int, lease: int, outcome: _Outcome) -> str:
    """Record one attempt; the outcome: ``sent``, ``retry`` (failed, tried again later) or
    ``given_up``."""
    result = outcome.result
    with writing(engine) as conn:
        attempts = (
            conn.execute(
                select(alert_deliveries.c.attempts).where(alert_deliveries.c.id == delivery_id)
            ).scalar_one()
            + 1
        )
        conn.execute(
            insert(alert_delivery_attempts).values(
                delivery_id=delivery_id, attempt_us=now, ok=result.ok, detail=result.detail
            )
        )
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_attempt_us": now,
            "lease_until_us": None,
        }
        delay = None if outcome.final else next_delay(attempts)
        if result.ok:
            values.update(status="sent", sent_us=now, last_error=None)
            status = "sent"
        elif delay is None:
            values.update(status="given_up", last_error=result.detail)
            status = "given_up"
        else:
            values.update(last_error=result.detail, next_attempt_us=now + delay * US)
            status = "retry"
        done = conn.execute(
            update(alert_deliveries)
            .where(
                and_(
                    alert_deliveries.c.id == delivery_id, alert_deliveries.c.lease_until_us == lease
                )
            )
            .values(**values)
        )
        if done.rowcount != 1:  # held past the lease and taken by another sender
            log.warning("alert delivery %s: the lease ran out while sending", delivery_id)
    return status


def _email(settings: Settings, n: messages.Notice, addresses: list[str]) -> Result:
    try:
        recipients = [validate_email(a) for a in addresses]
    except ValueError as exc:
        return Result("email", ", ".join(addresses)[:300], False, f"refused: {exc}")
    subject, text, html = messages.email_content(n)
    return channels.send_email(settings, recipients, subject, text, html)


def _addresses(target: str) -> list[str]:
    """The addresses of an email delivery's target: a JSON list or comma-separated."""
    text = target.strip()
    if text.startswith("["):
        return [str(a) for a in json.loads(text)]
    return [a.strip() for a in text.split(",") if a.strip()]


_SCOPE = {
    "orgId": "org_id",
    "agent": "agent",
    "userId": "user_id",
    "provider": "provider",
    "model": "model",
}
_API_NAMES = {
    "name": "name",
    "alertType": "alert_type",
    "thresholdCents": "threshold_cents",
    "thresholdPercent": "threshold_percent",
    "notificationEmails": "notification_emails",
    "slackWebhookUrl": "slack_webhook_url",
    "webhookUrl": "webhook_url",
    "webhookSecret": "webhook_secret",
    "timezone": "timezone",
    **{k: v for k, v in _SCOPE.items()},
}


def _rule_fields(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A rule's fields by column name, from a table row or the API's camelCase form."""
    data = dict(rule._mapping) if hasattr(rule, "_mapping") else dict(rule)
    for api, column in _API_NAMES.items():
        if api in data and column not in data:
            data[column] = data[api]
    for column in (*_API_NAMES.values(), "id"):
        data.setdefault(column, None)
    return data


def _cents(cents: int | None) -> str | None:
    if cents is None:
        return None
    return f"{cents // 100}.{cents % 100:02d}"
