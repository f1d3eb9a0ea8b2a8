"""catalog sync log, re-pricing jobs, and daily price windows

Revision ID: 0005_pricing_jobs
Revises: 0003_auth
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_pricing_jobs"
down_revision = "0003_auth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("price_rows", sa.Column("windows", sa.JSON(), nullable=True))
    op.create_table(
        "price_syncs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("models", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("changed_by", sa.String(length=256), nullable=True),
        sa.Column("fetched_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_syncs")),
    )
    op.create_index("ix_price_syncs_source", "price_syncs", ["source", "id"])
    op.create_table(
        "reprice_jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("scanned", sa.BigInteger(), nullable=False),
        sa.Column("changed", sa.BigInteger(), nullable=False),
        sa.Column("cost_before_nanos", sa.BigInteger(), nullable=False),
        sa.Column("delta_nanos", sa.BigInteger(), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=256), nullable=True),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("finished_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reprice_jobs")),
    )


def downgrade() -> None:
    op.drop_table("reprice_jobs")
    op.drop_index("ix_price_syncs_source", table_name="price_syncs")
    op.drop_table("price_syncs")
    with op.batch_alter_table("price_rows") as batch:
        batch.drop_column("windows")
