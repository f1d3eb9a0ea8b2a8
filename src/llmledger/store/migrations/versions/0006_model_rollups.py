"""narrow rollups by (bucket, org, provider, model, success), filled from the wide ones

Revision ID: 0006_model_rollups
Revises: 0005_pricing_jobs
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_model_rollups"
down_revision = "0005_pricing_jobs"
branch_labels = None
depends_on = None

_DIMS = ("org_id", "provider", "model", "success")
_MEASURES = (
    "requests",
    "events",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
    "input_audio_tokens",
    "output_audio_tokens",
    "cost_nanos",
    "latency_ms_sum",
    "latency_count",
    "fallback_requests",
    "fallback_cost_nanos",
    "provider_cost_nanos",
)


def upgrade() -> None:
    for grain in ("hour", "day"):
        name = f"rollup_{grain}_model"
        op.create_table(
            name,
            sa.Column("bucket", sa.BigInteger(), nullable=False),
            sa.Column("org_id", sa.String(length=256), nullable=False),
            sa.Column("provider", sa.String(length=256), nullable=False),
            sa.Column("model", sa.String(length=256), nullable=False),
            sa.Column("success", sa.Boolean(), nullable=False),
            *(sa.Column(m, sa.BigInteger(), server_default="0", nullable=False) for m in _MEASURES),
            sa.PrimaryKeyConstraint("bucket", *_DIMS, name=op.f(f"pk_{name}")),
        )
        cols = ", ".join(("bucket", *_DIMS, *_MEASURES))
        sums = ", ".join(f"SUM({m})" for m in _MEASURES)
        keys = ", ".join(("bucket", *_DIMS))
        op.execute(
            f"INSERT INTO {name} ({cols}) SELECT {keys}, {sums} FROM rollup_{grain} GROUP BY {keys}"
        )


def downgrade() -> None:
    op.drop_table("rollup_day_model")
    op.drop_table("rollup_hour_model")
