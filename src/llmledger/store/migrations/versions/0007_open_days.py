"""open days: the day rollups hold closed days only (rollup_state.open_from)

Revision ID: 0007_open_days
Revises: 0006_model_rollups
"""

import time

import sqlalchemy as sa
from alembic import op

revision = "0007_open_days"
down_revision = "0006_model_rollups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    state = op.create_table(
        "rollup_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("open_from", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_state")),
    )
    # today is the first open day: its day rows go (the hourly rows hold the same sums)
    today = int(time.time()) // 86400 * 86400
    op.bulk_insert(state, [{"id": 1, "open_from": today}])
    for name in ("rollup_day", "rollup_day_model"):
        op.execute(sa.text(f"DELETE FROM {name} WHERE bucket >= {today}"))


def downgrade() -> None:
    # the open days get their day rows back from the hourly ones
    for hourly, daily, dims in (
        ("rollup_hour", "rollup_day", "org_id, provider, model, agent, operation, tier, success"),
        ("rollup_hour_model", "rollup_day_model", "org_id, provider, model, success"),
    ):
        measures = (
            "requests, events, input_tokens, output_tokens, cache_read_tokens, "
            "cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens, input_audio_tokens, "
            "output_audio_tokens, cost_nanos, latency_ms_sum, latency_count, fallback_requests, "
            "fallback_cost_nanos, provider_cost_nanos"
        )
        sums = ", ".join(f"SUM({m.strip()})" for m in measures.split(","))
        day = "bucket - bucket % 86400"
        op.execute(
            sa.text(
                f"INSERT INTO {daily} (bucket, {dims}, {measures}) "
                f"SELECT {day}, {dims}, {sums} FROM {hourly} "
                f"WHERE bucket >= (SELECT open_from FROM rollup_state) GROUP BY {day}, {dims}"
            )
        )
    op.drop_table("rollup_state")
