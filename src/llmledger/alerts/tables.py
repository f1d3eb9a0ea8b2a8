"""Tables of budget alerts: the rules, each firing, and the outbox of deliveries.

A firing and its deliveries are written in one transaction, so a crash between firing and
sending loses nothing: the sender finds the pending deliveries when it next runs. The unique key
on ``(rule_id, period_key, level, repeat_key)`` is what makes a rule fire at most once per
period and level, however many evaluators run at once (``repeat_key`` is empty for ``once``,
the hour for ``hourly``, the check's time for ``every_check``).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)

from llmledger.store.metadata import metadata

S = 256

alert_rules = Table(
    "alert_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    # the scope: any combination, all NULL = the whole platform
    Column("org_id", String(S)),
    Column("agent", String(S)),
    Column("user_id", String(S)),
    Column("provider", String(S)),
    Column("model", String(S)),
    # daily_limit | weekly_limit | monthly_limit | cost_spike | forecast_overrun | error_rate |
    # reconciliation_drift
    Column("alert_type", String(32), nullable=False),
    Column("threshold_cents", BigInteger),  # the money types; NULL for error_rate
    Column("warning_percent", Integer, nullable=False, server_default="80"),
    Column("spike_percent", Integer),  # cost_spike: above the trailing hourly average by this
    Column("min_cost_cents", BigInteger),  # cost_spike: the floor below which it never fires
    # error_rate: the share of failed requests; reconciliation_drift: how far apart tracked and
    # billed may be (NULL: LLMLEDGER_RECONCILIATION_DRIFT_PERCENT)
    Column("threshold_percent", Float),
    Column("min_requests", Integer),  # error_rate: fewer requests in the hour never fire
    Column("notification_emails", JSON),  # a list of addresses
    Column("slack_webhook_url", Text),  # a credential: never returned whole
    Column("webhook_url", Text),  # a credential: never returned whole
    Column("webhook_secret", String(128)),  # HMAC-SHA256 signing key, shown once
    Column("notification_frequency", String(16), nullable=False, server_default="once"),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("action", String(16), nullable=False, server_default="notify"),  # notify | block
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

alert_firings = Table(
    "alert_firings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule_id", Integer, nullable=False),
    Column("period_key", String(64), nullable=False),  # e.g. 2026-12-07, 2026-W49, 2026-12
    Column("level", String(16), nullable=False),  # WARNING | CRITICAL
    Column("repeat_key", String(64), nullable=False, server_default=""),
    Column("period_start_us", BigInteger, nullable=False),
    Column("period_end_us", BigInteger, nullable=False),
    Column("fired_us", BigInteger, nullable=False),
    Column("org_id", String(S)),  # the rule's organisation, for scoped readers of the history
    # what the messages say, fixed at firing time (see alerts.messages): rule name, type, scope,
    # value, threshold, unit, percent used, period, top contributors, dashboard link
    Column("details", JSON, nullable=False),
    UniqueConstraint("rule_id", "period_key", "level", "repeat_key", name="uq_alert_firings_once"),
    Index("ix_alert_firings_fired", "fired_us"),
)

#: the outbox: one row per channel of a firing, written in the firing's transaction
alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("firing_id", Integer, nullable=False),
    Column("channel", String(16), nullable=False),  # email | slack | webhook
    Column("target", Text, nullable=False),  # addresses, or the URL (masked when shown)
    Column("status", String(16), nullable=False),  # pending | sent | given_up
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_us", BigInteger, nullable=False),
    Column("lease_until_us", BigInteger),  # a sender holds the row until then
    Column("last_attempt_us", BigInteger),
    Column("last_error", Text),
    Column("sent_us", BigInteger),
    Column("created_us", BigInteger, nullable=False),
    Index("ix_alert_deliveries_due", "status", "next_attempt_us"),
    Index("ix_alert_deliveries_firing", "firing_id"),
)

#: every attempt of a delivery, for the history
alert_delivery_attempts = Table(
    "alert_delivery_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", Integer, nullable=False),
    Column("attempt_us", BigInteger, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("detail", Text),  # the status code or the error
    Index("ix_alert_delivery_attempts_delivery", "delivery_id"),
)
