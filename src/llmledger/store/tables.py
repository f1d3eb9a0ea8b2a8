"""Tables of the event store: organisations, raw events, rollups, sessions, keys and tokens.

Times are stored as integers so that bucketing is the same arithmetic on every dialect:
``ts_us`` is microseconds since the Unix epoch (UTC), rollup ``bucket`` is the bucket's start in
seconds since the epoch (UTC hours and UTC days). Money is integer nano-dollars.

Rollup dimensions are stored as ``''`` when absent (never NULL) so that they can form a primary
key and upserts can target it; readers turn ``''`` back into ``null``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from llmledger.store.metadata import metadata

S = 256  # attribution string cap (validated before it gets here)

organizations = Table(
    "organizations",
    metadata,
    Column("org_id", String(S), primary_key=True),
    Column("name", String(S), nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("ts_us", BigInteger, nullable=False),
    Column("org_id", String(S), nullable=False, server_default=""),
    Column("user_id", String(S)),
    Column("agent", String(S)),
    Column("session_id", String(S)),
    Column("agent_session_id", String(S)),
    Column("agent_execution_id", String(S)),
    Column("agent_plan_id", String(S)),
    Column("operation", String(S)),
    Column("tier", String(S)),
    Column("provider", String(S), nullable=False),
    Column("model", String(S), nullable=False),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("cache_read_tokens", BigInteger, nullable=False),
    Column("cache_write_5m_tokens", BigInteger, nullable=False),
    Column("cache_write_1h_tokens", BigInteger, nullable=False),
    Column("reasoning_tokens", BigInteger, nullable=False),
    Column("input_audio_tokens", BigInteger, nullable=False),
    Column("output_audio_tokens", BigInteger, nullable=False),
    Column("requests", Integer, nullable=False),
    Column("latency_ms", Integer),
    Column("ttft_ms", Integer),
    Column("success", Boolean, nullable=False),
    Column("error_type", String(S)),
    Column("status_code", Integer),
    Column("request_id", String(S)),
    Column("stream", Boolean),
    Column("cost_nanos", BigInteger, nullable=False),
    Column("cost_source", String(16), nullable=False),
    Column("price_id", BigInteger),
    Column("metadata", Text),
    Column("received_us", BigInteger, nullable=False),
    Index("ix_events_ts", "ts_us"),
    Index("ix_events_org_ts", "org_id", "ts_us"),
    Index("ix_events_session", "org_id", "session_id", "ts_us"),
)

#: the dimensions of both time rollups, in key order after ``bucket``
ROLLUP_DIMENSIONS = ("org_id", "provider", "model", "agent", "operation", "tier", "success")

#: the additive measures of the time rollups
ROLLUP_MEASURES = (
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


#: the dimensions of the narrow ("model") rollups: what most questions group or filter by
MODEL_DIMENSIONS = ("org_id", "provider", "model", "success")


def _rollup_table(name: str, dims: tuple[str, ...] = ROLLUP_DIMENSIONS) -> Table:
    return Table(
        name,
        metadata,
        Column("bucket", BigInteger, nullable=False),
        *(Column(d, Boolean if d == "success" else String(S), nullable=False) for d in dims),
        *(Column(m, BigInteger, nullable=False, server_default="0") for m in ROLLUP_MEASURES),
        PrimaryKeyConstraint("bucket", *dims),
    )


rollup_hour = _rollup_table("rollup_hour")
rollup_day = _rollup_table("rollup_day")
# The same sums without agent, operation and tier: ~30x fewer rows, so questions that neither
# group nor filter by those answer from here (derived from the wide deltas in the same writes).
rollup_hour_model = _rollup_table("rollup_hour_model", MODEL_DIMENSIONS)
rollup_day_model = _rollup_table("rollup_day_model", MODEL_DIMENSIONS)

#: one row: the first open day (UTC, seconds). The day rollups hold only the days before it;
#: from it on the hourly rollups are the only copy (see ``store.open_days``)
rollup_state = Table(
    "rollup_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("open_from", BigInteger, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("org_id", String(S), nullable=False),
    Column("session_id", String(S), nullable=False),
    Column("user_id", String(S), nullable=False, server_default=""),
    Column("first_us", BigInteger, nullable=False),
    Column("last_us", BigInteger, nullable=False),
    Column("requests", BigInteger, nullable=False),
    Column("events", BigInteger, nullable=False),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("cost_nanos", BigInteger, nullable=False),
    PrimaryKeyConstraint("org_id", "session_id"),
    Index("ix_sessions_last", "last_us"),
    Index("ix_sessions_cost", "cost_nanos"),
)

session_agents = Table(
    "session_agents",
    metadata,
    Column("org_id", String(S), nullable=False),
    Column("session_id", String(S), nullable=False),
    Column("agent", String(S), nullable=False),
    Column("requests", BigInteger, nullable=False),
    Column("cost_nanos", BigInteger, nullable=False),
    PrimaryKeyConstraint("org_id", "session_id", "agent"),
)

user_day = Table(
    "user_day",
    metadata,
    Column("bucket", BigInteger, nullable=False),
    Column("org_id", String(S), nullable=False),
    Column("user_id", String(S), nullable=False),
    Column("requests", BigInteger, nullable=False),
    Column("events", BigInteger, nullable=False),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("cost_nanos", BigInteger, nullable=False),
    PrimaryKeyConstraint("bucket", "org_id", "user_id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("name", String(S), nullable=False),
    Column("role", String(16), nullable=False),
    Column("org_id", String(S)),
    Column("user_id", Integer),
    Column("created_us", BigInteger, nullable=False),
    Column("last_used_us", BigInteger),
    Column("revoked_us", BigInteger),
)

ingest_keys = Table(
    "ingest_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("name", String(S), nullable=False),
    Column("org_id", String(S), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("last_used_us", BigInteger),
    Column("revoked_us", BigInteger),
)

#: small key/value settings that an admin can change at run time (e.g. the fallback price)
app_settings = Table(
    "app_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)
