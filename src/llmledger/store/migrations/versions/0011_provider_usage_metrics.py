"""provider usage metrics: what the providers report beside tokens (images, audio seconds and
characters, vector-store bytes, code-interpreter sessions), and how many rows of it each
import wrote

Revision ID: 0011_provider_usage_metrics
Revises: 0010_import_leases
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_provider_usage_metrics"
down_revision = "0010_import_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_usage_metrics",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("day", sa.BigInteger(), nullable=False),
        sa.Column("project", sa.String(length=256), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "provider", "day", "project", "model", "metric", name=op.f("pk_provider_usage_metrics")
        ),
    )
    with op.batch_alter_table("provider_imports") as batch:
        batch.add_column(sa.Column("metric_rows", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("provider_imports") as batch:
        batch.drop_column("metric_rows")
    op.drop_table("provider_usage_metrics")
