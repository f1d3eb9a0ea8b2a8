"""Preparing a batch for the writer: priced event rows and the rollup deltas they add.

Preparation is pure Python with no database, so it runs on the submitting thread (an HTTP worker,
the CLI) while the single writer thread spends its time inside the database. The writer then
only inserts the rows and adds the deltas; when an ``eventId`` turns out to be stored already it
recomputes the deltas from the rows that really went in (see ``write.write_rows``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from llmledger.events import (
    FUTURE_SKEW,
    MAX_STRING,
    MIN_TIMESTAMP,
    UsageEvent,
    exact_cost,
    metadata_json,
    parse_events,
)
from llmledger.money import usd_to_nanos
from llmledger.pricing.cost import Pricer
from llmledger.store.rows import from_us, to_us
from llmledger.store.write import Prepared
from llmledger.wire import WireEvent, parse_timestamp

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_US = dt.timedelta(microseconds=1)
_SKEW_US = FUTURE_SKEW // _ONE_US
_FLOOR_US = (MIN_TIMESTAMP - _EPOCH) // _ONE_US


def prepare_events(
    events: Iterable[UsageEvent],
    pricer: Pricer,
    *,
    default_org: str | None,
    received_us: int,
    open_from: int,
) -> Prepared:
    """Rows for validated ``UsageEvent``s (SDK direct mode, the demo, the ingest slow path)."""
    rows = []
    for e in events:
        priced = pricer.price(e)
        rows.append(
            (
                str(e.event_id),
                to_us(e.timestamp),
                e.org_id or default_org or "",
                e.user_id,
                e.agent,
                e.session_id,
                e.agent_session_id,
                e.agent_execution_id,
                e.agent_plan_id,
                e.operation,
                e.tier,
                e.provider,
                e.model,
                e.input_tokens,
                e.output_tokens,
                e.cache_read_tokens,
                e.cache_write_5m_tokens,
                e.cache_write_1h_tokens,
                e.reasoning_tokens,
                e.input_audio_tokens,
                e.output_audio_tokens,
                e.requests,
                e.latency_ms,
                e.time_to_first_token_ms,
                e.success,
                e.error_type,
                e.status_code,
                e.request_id,
                e.stream,
                priced.cost_nanos,
                priced.cost_source,
                priced.price_id,
                metadata_json(e.metadata),
                received_us,
            )
        )
    return Prepared.of_rows(rows, open_from)


def prepare_parsed(
    raws: list[Any], pricer: Pricer, *, key_org: str | None, now_us: int, open_from: int
) -> tuple[Prepared, list[dict[str, Any]]]:
    """The slow path: each parsed JSON event judged by the contract. Returns the batch of the
    good ones and ``{"index", "errors"}`` for the others (including events that name another
    organisation than the ingest key's)."""
    good, rejected = parse_events(raws, now=from_us(now_us))
    if key_org is not None:
        good, rejected = _scope_to_org(raws, good, rejected, key_org)
    prepared = prepare_events(
        good, pricer, default_org=key_org, received_us=now_us, open_from=open_from
    )
    return prepared, rejected


def _scope_to_org(
    raws: list[Any], good: list[UsageEvent], rejected: list[dict[str, Any]], key_org: str
) -> tuple[list[UsageEvent], list[dict[str, Any]]]:
    bad_indexes = {r["index"] for r in rejected}
    kept: list[UsageEvent] = []
    it = iter(good)
    for index in range(len(raws)):
        if index in bad_indexes:
            continue
        e = next(it)
        if e.org_id is not None and e.org_id != key_org:
            rejected.append(
                {
                    "index": index,
                    "errors": [f"orgId: this ingest key writes only to organisation {key_org!r}"],
                }
            )
        else:
            kept.append(e)
    return kept, rejected


def prepare_wire(
    events: list[WireEvent], pricer: Pricer, *, key_org: str | None, now_us: int, open_from: int
) -> Prepared | None:
    """Rows for a fast-decoded batch, or ``None`` as soon as one event needs the contract's
    judgement (a part above its whole, a timestamp too far ahead or before the floor, another
    organisation than the ingest key's, a cost or metadata to refuse): the caller then takes
    the slow path, which words the errors."""
    rows = []
    latest_us = now_us + _SKEW_US
    price = pricer.price_usage
    try:
        for e in events:
            ts = parse_timestamp(e.timestamp)
            ts_us = (ts - _EPOCH) // _ONE_US
            inp = e.input_tokens
            out = e.output_tokens
            cr = e.cache_read_tokens
            cw5 = e.cache_write_5m_tokens
            cw1 = e.cache_write_1h_tokens
            rs = e.reasoning_tokens
            ia = e.input_audio_tokens
            oa = e.output_audio_tokens
            # attributions, providers and models are stored stripped, as the contract does
            org = e.org_id and e.org_id.strip()
            if (
                ts_us > latest_us
                or ts_us < _FLOOR_US
                or cr + cw5 + cw1 > inp
                or ia > inp
                or rs + oa > out
                or (key_org is not None and org is not None and org != key_org)
            ):
                return None
            cost = e.cost_usd
            reported = None if cost is None else usd_to_nanos(exact_cost(cost))  # type: ignore[arg-type]
            metadata = e.metadata
            provider = e.provider.strip().lower()
            model = e.model.strip()
            if not provider or not model or len(provider) > MAX_STRING:  # lower-casing can lengthen
                return None
            priced = price(provider, model, ts, e, reported_nanos=reported)
            rows.append(
                (
                    e.event_id,
                    ts_us,
                    org or key_org or "",
                    e.user_id and e.user_id.strip(),
                    e.agent and e.agent.strip(),
                    e.session_id and e.session_id.strip(),
                    e.agent_session_id and e.agent_session_id.strip(),
                    e.agent_execution_id and e.agent_execution_id.strip(),
                    e.agent_plan_id and e.agent_plan_id.strip(),
                    e.operation and e.operation.strip(),
                    e.tier and e.tier.strip(),
                    provider,
                    model,
                    inp,
                    out,
                    cr,
                    cw5,
                    cw1,
                    rs,
                    ia,
                    oa,
                    e.requests,
                    e.latency_ms,
                    e.time_to_first_token_ms,
                    e.success,
                    e.error_type,
                    e.status_code,
                    e.request_id,
                    e.stream,
                    priced.cost_nanos,
                    priced.cost_source,
                    priced.price_id,
                    None if metadata is None else metadata_json(metadata),
                    now_us,
                )
            )
    except (ValueError, OverflowError):
        return None
    return Prepared.of_rows(rows, open_from)
