"""budget alerts: rules, firings, the delivery outbox and its attempts; three default rules

Revision ID: 0008_alerts
Revises: 0007_open_days
"""

import time

import sqlalchemy as sa
from alembic import op

revision = "0008_alerts"
down_revision = "0007_open_days"
branch_labels = None
depends_on = None


def upgrade() -> None:
    rules = op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("org_id", sa.String(length=256), nullable=True),
        sa.Column("agent", sa.String(length=256), nullable=True),
        sa.Column("user_id", sa.String(length=256), nullable=True),
        sa.Column("provider", sa.String(length=256), nullable=True),
        sa.Column("model", sa.String(length=256), nullable=True),
        sa.Column("alert_type", sa.String(length=32), nullable=False),
        sa.Column("threshold_cents", sa.BigInteger(), nullable=True),
        sa.Column("warning_percent", sa.Integer(), server_default="80", nullable=False),
        sa.Column("spike_percent", sa.Integer(), nullable=True),
        sa.Column("min_cost_cents", sa.BigInteger(), nullable=True),
        sa.Column("threshold_percent", sa.Float(), nullable=True),
        sa.Column("min_requests", sa.Integer(), nullable=True),
        sa.Column("notification_emails", sa.JSON(), nullable=True),
        sa.Column("slack_webhook_url", sa.Text(), nullable=True),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("webhook_secret", sa.String(length=128), nullable=True),
        sa.Column(
            "notification_frequency", sa.String(length=16), server_default="once", nullable=False
        ),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("action", sa.String(length=16), server_default="notify", nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
    )
    op.create_table(
        "alert_firings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("period_key", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("repeat_key", sa.String(length=64), server_default="", nullable=False),
        sa.Column("period_start_us", sa.BigInteger(), nullable=False),
        sa.Column("period_end_us", sa.BigInteger(), nullable=False),
        sa.Column("fired_us", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.String(length=256), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_firings")),
        sa.UniqueConstraint(
            "rule_id", "period_key", "level", "repeat_key", name="uq_alert_firings_once"
        ),
    )
    op.create_index("ix_alert_firings_fired", "alert_firings", ["fired_us"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("firing_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_us", sa.BigInteger(), nullable=False),
        sa.Column("lease_until_us", sa.BigInteger(), nullable=True),
        sa.Column("last_attempt_us", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_us", sa.BigInteger(), nullable=True),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_deliveries")),
    )
    op.create_index("ix_alert_deliveries_due", "alert_deliveries", ["status", "next_attempt_us"])
    op.create_index("ix_alert_deliveries_firing", "alert_deliveries", ["firing_id"])
    op.create_table(
        "alert_delivery_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("attempt_us", sa.BigInteger(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_delivery_attempts")),
    )
    op.create_index(
        "ix_alert_delivery_attempts_delivery", "alert_delivery_attempts", ["delivery_id"]
    )
    # three active global rules with no channels: their state shows until an admin adds some
    now = int(time.time() * 1_000_000)
    defaults = [
        ("Daily Global Spend Alert", "daily_limit", 10_000, None, None),
        ("Monthly Global Spend Alert", "monthly_limit", 100_000, None, None),
        ("Cost Spike Alert", "cost_spike", None, 200, 100),
    ]
    op.bulk_insert(
        rules,
        [
            {
                "name": name,
                "alert_type": kind,
                "threshold_cents": cents,
                "warning_percent": 80,
                "spike_percent": spike,
                "min_cost_cents": floor,
                "notification_emails": [],
                "notification_frequency": "once",
                "is_active": True,
                "timezone": "UTC",
                "action": "notify",
                "created_us": now,
                "updated_us": now,
            }
            for name, kind, cents, spike, floor in defaults
        ],
    )


def downgrade() -> None:
    op.drop_table("alert_delivery_attempts")
    op.drop_table("alert_deliveries")
    op.drop_table("alert_firings")
    op.drop_table("alert_rules")
