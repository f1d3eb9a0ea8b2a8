"""What the providers themselves report: usage and cost rows per UTC day, and the log of
imports. Money is integer nano-dollars, exactly as converted from the providers' decimals."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from llmledger.store.metadata import metadata

#: a dimension the report did not give (the default project or workspace, no model) is ""
provider_usage = Table(
    "provider_usage",
    metadata,
    Column("provider", String(32), nullable=False),
    Column("day", BigInteger, nullable=False),  # UTC day start, Unix seconds
    Column("project", String(256), nullable=False),  # OpenAI project, Anthropic workspace
    Column("model", String(256), nullable=False),
    Column("requests", BigInteger),  # NULL: the provider does not report it (Anthropic)
    Column("input_tokens", BigInteger, nullable=False),  # all input, cached parts included
    Column("cache_read_tokens", BigInteger, nullable=False),
    Column("cache_write_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("import_id", Integer, nullable=False),
    PrimaryKeyConstraint("provider", "day", "project", "model"),
)

provider_costs = Table(
    "provider_costs",
    metadata,
    Column("provider", String(32), nullable=False),
    Column("day", BigInteger, nullable=False),
    Column("project", String(256), nullable=False),
    Column("line_item", String(512), nullable=False),
    Column("model", String(256), nullable=False),  # "" when the line item names none
    Column("cost_nanos", BigInteger, nullable=False),
    Column("import_id", Integer, nullable=False),
    PrimaryKeyConstraint("provider", "day", "project", "line_item", "model"),
)

#: what the providers report beside tokens, one row per metric: images, audio seconds and
#: characters, vector-store bytes, code-interpreter sessions, and the requests of each
#: (providers.openai_metrics names them); exact integers, as reported
provider_usage_metrics = Table(
    "provider_usage_metrics",
    metadata,
    Column("provider", String(32), nullable=False),
    Column("day", BigInteger, nullable=False),
    Column("project", String(256), nullable=False),
    Column("model", String(256), nullable=False),  # "" for a metric of no model
    Column("metric", String(64), nullable=False),
    Column("value", BigInteger, nullable=False),
    Column("import_id", Integer, nullable=False),
    PrimaryKeyConstraint("provider", "day", "project", "model", "metric"),
)

provider_imports = Table(
    "provider_imports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(32), nullable=False),
    Column("start_day", BigInteger, nullable=False),
    Column("end_day", BigInteger, nullable=False),  # exclusive
    Column("state", String(16), nullable=False),  # running, ok, failed
    Column("usage_rows", Integer, nullable=False),
    Column("cost_rows", Integer, nullable=False),
    Column("error", Text),
    Column("started_us", BigInteger, nullable=False),
    Column("finished_us", BigInteger),
    Column("trigger", String(16)),  # cli, api, schedule (NULL: before triggers were kept)
    Column("metric_rows", Integer, nullable=False, server_default="0"),
    Index("ix_provider_imports_provider", "provider", "id"),
)

#: one row per provider: the node whose import of it runs, until when. The database, not
#: timing, decides who imports: taking the lease is one conditional UPDATE
provider_import_leases = Table(
    "provider_import_leases",
    metadata,
    Column("provider", String(32), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("until_us", BigInteger, nullable=False),
    Column("run_id", Integer),
)

#: provider keys an admin stored: Fernet tokens under a key derived from the server secret;
#: only the last four characters are kept in the clear, to recognise a key by
provider_credentials = Table(
    "provider_credentials",
    metadata,
    Column("provider", String(32), primary_key=True),
    Column("ciphertext", Text, nullable=False),
    Column("last_four", String(4), nullable=False),
    Column("set_us", BigInteger, nullable=False),
    Column("set_by", String(256), nullable=False),
    Column("last_used_us", BigInteger),
)
