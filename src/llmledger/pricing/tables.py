"""The ``price_rows`` table: prices as decimal strings (no float ever touches them)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Table, Text

from llmledger.store.metadata import metadata

PRICE_COLUMNS = (
    "input",
    "output",
    "cache_read",
    "cache_write_5m",
    "cache_write_1h",
    "reasoning",
    "input_audio",
    "output_audio",
)

price_rows = Table(
    "price_rows",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(128), nullable=False),
    Column("model", String(256), nullable=False),
    Column("aliases", JSON, nullable=False),
    Column("match", JSON),
    Column("effective_from_us", BigInteger, nullable=False),
    Column("effective_to_us", BigInteger),
    Column("source", String(16), nullable=False),
    *(Column(f"{c}_per_million", String(40)) for c in PRICE_COLUMNS),
    Column("per_request", String(40)),
    Column("tiers", JSON, nullable=False),
    Column("notes", Text),
    Column("changed_by", String(256)),
    Column("changed_us", BigInteger, nullable=False),
    Index("ix_price_rows_provider_model", "provider", "model"),
    Index("ix_price_rows_source", "source"),
)
