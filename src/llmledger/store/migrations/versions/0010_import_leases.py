"""provider imports: what started each run, the lease that lets one node import at a time,
and the provider keys admins store (encrypted)

Revision ID: 0010_import_leases
Revises: 0009_provider_reports
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_import_leases"
down_revision = "0009_provider_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("provider_imports") as batch:
        batch.add_column(sa.Column("trigger", sa.String(length=16), nullable=True))
    op.create_table(
        "provider_import_leases",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("until_us", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("provider", name=op.f("pk_provider_import_leases")),
    )
    op.create_table(
        "provider_credentials",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("last_four", sa.String(length=4), nullable=False),
        sa.Column("set_us", sa.BigInteger(), nullable=False),
        sa.Column("set_by", sa.String(length=256), nullable=False),
        sa.Column("last_used_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("provider", name=op.f("pk_provider_credentials")),
    )


def downgrade() -> None:
    op.drop_table("provider_credentials")
    op.drop_table("provider_import_leases")
    with op.batch_alter_table("provider_imports") as batch:
        batch.drop_column("trigger")
