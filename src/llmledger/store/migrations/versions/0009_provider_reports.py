"""provider reports: usage and cost rows the providers report, and the log of imports

Revision ID: 0009_provider_reports
Revises: 0008_alerts
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_provider_reports"
down_revision = "0008_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_usage",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("day", sa.BigInteger(), nullable=False),
        sa.Column("project", sa.String(length=256), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=True),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "provider", "day", "project", "model", name=op.f("pk_provider_usage")
        ),
    )
    op.create_table(
        "provider_costs",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("day", sa.BigInteger(), nullable=False),
        sa.Column("project", sa.String(length=256), nullable=False),
        sa.Column("line_item", sa.String(length=512), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=False),
        sa.Column("cost_nanos", sa.BigInteger(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "provider", "day", "project", "line_item", "model", name=op.f("pk_provider_costs")
        ),
    )
    op.create_table(
        "provider_imports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("start_day", sa.BigInteger(), nullable=False),
        sa.Column("end_day", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("usage_rows", sa.Integer(), nullable=False),
        sa.Column("cost_rows", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_us", sa.BigInteger(), nullable=False),
        sa.Column("finished_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_imports")),
    )
    op.create_index("ix_provider_imports_provider", "provider_imports", ["provider", "id"])


def downgrade() -> None:
    op.drop_index("ix_provider_imports_provider", table_name="provider_imports")
    op.drop_table("provider_imports")
    op.drop_table("provider_costs")
    op.drop_table("provider_usage")
