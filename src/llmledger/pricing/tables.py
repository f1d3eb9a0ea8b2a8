"""Pricing tables: ``price_rows`` (prices as decimal strings, no float ever touches them), the
log of catalog syncs and the re-pricing jobs."""

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
    # daily UTC windows with their own prices (off-peak hours); added by 0005_pricing_jobs
    Column("windows", JSON),
    Index("ix_price_rows_provider_model", "provider", "model"),
    Index("ix_price_rows_source", "source"),
)

#: every applied catalog sync: what came in and from where (a sync's shrink guard reads the last)
price_syncs = Table(
    "price_syncs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("location", Text),
    Column("sha256", String(64)),
    Column("models", Integer, nullable=False),
    Column("added", Integer, nullable=False),
    Column("changed", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),
    Column("changed_by", String(256)),
    Column("fetched_us", BigInteger, nullable=False),
    Index("ix_price_syncs_source", "source", "id"),
)

#: re-pricing runs: their scope, progress and outcome (progress commits with each chunk)
reprice_jobs = Table(
    "reprice_jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("state", String(16), nullable=False),  # running | done | failed
    Column("scope", JSON, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("scanned", BigInteger, nullable=False),
    Column("changed", BigInteger, nullable=False),
    Column("cost_before_nanos", BigInteger, nullable=False),
    Column("delta_nanos", BigInteger, nullable=False),
    Column("last_event_id", BigInteger, nullable=False),
    Column("error", Text),
    Column("requested_by", String(256)),
    Column("created_us", BigInteger, nullable=False),
    Column("finished_us", BigInteger),
)
