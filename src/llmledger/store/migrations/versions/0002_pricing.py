"""price rows

Revision ID: 0002_pricing
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_pricing"
down_revision = "0001_core"
branch_labels = None
depends_on = None

_CLASSES = (
    "input",
    "output",
    "cache_read",
    "cache_write_5m",
    "cache_write_1h",
    "reasoning",
    "input_audio",
    "output_audio",
)


def upgrade() -> None:
    op.create_table(
        "price_rows",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=128), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("match", sa.JSON(), nullable=True),
        sa.Column("effective_from_us", sa.BigInteger(), nullable=False),
        sa.Column("effective_to_us", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        *(sa.Column(f"{c}_per_million", sa.String(length=40), nullable=True) for c in _CLASSES),
        sa.Column("per_request", sa.String(length=40), nullable=True),
        sa.Column("tiers", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.String(length=256), nullable=True),
        sa.Column("changed_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_rows")),
    )
    op.create_index("ix_price_rows_provider_model", "price_rows", ["provider", "model"])
    op.create_index("ix_price_rows_source", "price_rows", ["source"])


def downgrade() -> None:
    op.drop_index("ix_price_rows_source", table_name="price_rows")
    op.drop_index("ix_price_rows_provider_model", table_name="price_rows")
    op.drop_table("price_rows")
