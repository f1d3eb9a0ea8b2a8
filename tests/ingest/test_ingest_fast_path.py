"""The ingest fast path (msgspec) against the contract (pydantic): on every batch the fast path
accepts, it must produce exactly the rows and deltas the slow path produces, and it must never
accept a batch in which the slow path rejects anything."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
import uuid
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmledger.demo import Demo
from llmledger.ingest.prepare import prepare_parsed, prepare_wire
from llmledger.pricing.bundled import bundled_rows
from llmledger.pricing.cost import Pricer
from llmledger.pricing.resolve import PriceBook
from llmledger.pricing.rows import PriceRow
from llmledger.store.write import Prepared
from llmledger.wire import NotJSON, decode_batch, decode_plain

NOW_US = time.time_ns() // 1000
NOW = dt.datetime.fromtimestamp(NOW_US / 1e6, dt.UTC)
#: today is open: its events have no day deltas, earlier ones do
OPEN_FROM = NOW_US // 86_400_000_000 * 86400


@pytest.fixture(scope="module")
def pricer() -> Pricer:
    rows = [dataclasses.replace(r, id=i + 1) for i, r in enumerate(bundled_rows())]
    fallback = PriceRow("*", "*", {"input": Decimal(10), "output": Decimal(30)}, source="fallback")
    return Pricer(PriceBook([*rows, fallback]))


def fast(body: bytes, pricer: Pricer, key_org: str | None) -> Prepared | None:
    wire = decode_batch(body, max_events=10_000)
    return (
        None
        if wire is None
        else prepare_wire(wire, pricer, key_org=key_org, now_us=NOW_US, open_from=OPEN_FROM)
    )


def slow(body: bytes, pricer: Pricer, key_org: str | None) -> tuple[Prepared, list[Any]] | None:
    """What the contract makes of the body; ``None`` when the body is refused as a whole."""
    try:
        payload = decode_plain(body)
    except NotJSON:
        return None
    if not isinstance(payload, dict) or set(payload) != {"events"}:
        return None
    if not isinstance(payload["events"], list):
        return None
    return prepare_parsed(
        payload["events"], pricer, key_org=key_org, now_us=NOW_US, open_from=OPEN_FROM
    )


def assert_agree(body: bytes, pricer: Pricer, key_org: str | None = None) -> bool:
    """Check the two paths; True when the fast path took the batch."""
    got = fast(body, pricer, key_org)
    expected = slow(body, pricer, key_org)
    if got is None:
        return False
    assert expected is not None, "the fast path took a body the contract refuses"
    batch, rejected = expected
    assert rejected == [], "the fast path took a batch with a rejected event"
    assert got.rows == batch.rows
    assert got.deltas == batch.deltas
    return True


# -- generated batches ----------------------------------------------------------------------

_labels = st.one_of(
    st.sampled_from(["openai", "OpenAI", "anthropic", "gpt-4o", "claude-sonnet-4-20250514"]),
    st.sampled_from(["", " ", " padded ", "x" * 256, "x" * 257, "ünïcödé", "tab\there", "a\x00b"]),
    st.text(max_size=12),
)


def _uuid_forms(u: uuid.UUID) -> st.SearchStrategy[str]:
    s = str(u)
    return st.sampled_from([s, s.upper(), u.hex, "{" + s + "}", "urn:uuid:" + s, s[:-1]])


def _timestamps() -> st.SearchStrategy[str]:
    moments = st.datetimes(
        min_value=dt.datetime(1999, 1, 1),
        max_value=(NOW + dt.timedelta(minutes=20)).replace(tzinfo=None),
        timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30))]),
    )

    def render(m: dt.datetime, form: int, digits: str) -> str:
        base = m.replace(microsecond=0).isoformat()
        body, offset = base[:19], base[19:]
        frac = f".{digits}" if digits else ""
        return [
            m.isoformat(),
            body + frac + offset,
            body + frac + ("Z" if offset == "+00:00" else offset),
            body.replace("T", " ") + frac + offset,
            body + frac,  # naive
            body[:16] + offset,  # no seconds
            body + frac + offset.replace(":", ""),
        ][form]

    return st.builds(
        render,
        moments,
        st.integers(0, 6),
        st.text(alphabet="0123456789", min_size=0, max_size=10),
    )


_counts = st.one_of(st.integers(0, 5000), st.sampled_from([-1, 10**12, 10**12 + 1, 2**63]))
_optional_fields = {
    "orgId": _labels,
    "userId": _labels,
    "agent": _labels,
    "sessionId": _labels,
    "operation": _labels,
    "tier": _labels,
    "requestId": _labels,
    "errorType": _labels,
    "inputTokens": _counts,
    "outputTokens": _counts,
    "cacheReadTokens": _counts,
    "cacheWrite5mTokens": _counts,
    "cacheWrite1hTokens": _counts,
    "reasoningTokens": _counts,
    "inputAudioTokens": _counts,
    "outputAudioTokens": _counts,
    "requests": st.sampled_from([1, 2, 0, 1_000_001, True]),
    "latencyMs": st.one_of(st.none(), st.integers(-1, 100_000), st.just(1.5)),
    "timeToFirstTokenMs": st.one_of(st.none(), st.integers(0, 5000)),
    "success": st.sampled_from([True, False, "true", 1]),
    "statusCode": st.sampled_from([200, 429, 99, 600, None]),
    "stream": st.sampled_from([True, False, None]),
    "costUsd": st.one_of(
        st.none(),
        st.sampled_from(["0.0123", " 0.5 ", "1e-3", "abc", "-1", "NaN", "1000001", True]),
        st.floats(0, 10, allow_nan=False),
        st.integers(0, 3),
    ),
    "metadata": st.one_of(
        st.none(),
        st.dictionaries(st.text(max_size=5), st.integers(-(2**70), 2**70), max_size=2),
        st.just({"k" * 257: 1}),
        st.just({"big": "x" * 9000}),
        st.just([1]),
    ),
    "event_id": st.just("snake-case-key"),
    "unknownField": st.just(1),
}


@st.composite
def raw_events(draw: st.DrawFn) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventId": draw(st.uuids().flatmap(_uuid_forms)),
        "timestamp": draw(_timestamps()),
        "provider": draw(_labels),
        "model": draw(_labels),
    }
    for name in draw(st.sets(st.sampled_from(sorted(_optional_fields)), max_size=8)):
        event[name] = draw(_optional_fields[name])
    for name in draw(st.sets(st.sampled_from(["eventId", "timestamp", "provider"]), max_size=1)):
        del event[name]
    return event


_text = st.text(st.characters(blacklist_characters="\x00"), min_size=1, max_size=20)


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    """Events the contract accepts, so the fast path is exercised on its accepting side."""
    moment = draw(
        st.datetimes(
            min_value=dt.datetime(2020, 1, 1),
            max_value=NOW.replace(tzinfo=None),
            timezones=st.just(dt.UTC),
        )
    )
    inp, out = draw(st.integers(0, 10**6)), draw(st.integers(0, 10**6))
    cached = draw(st.integers(0, inp))
    event: dict[str, Any] = {
        "eventId": str(draw(st.uuids())),
        "timestamp": moment.isoformat().replace("+00:00", draw(st.sampled_from(["Z", "+00:00"]))),
        "provider": draw(st.one_of(st.sampled_from(["openai", "Anthropic", "groq"]), _text)),
        "model": draw(st.one_of(st.sampled_from(["gpt-4o", "claude-sonnet-4", "o3"]), _text)),
        "inputTokens": inp,
        "outputTokens": out,
        "cacheReadTokens": cached,
        "reasoningTokens": draw(st.integers(0, out)),
    }
    optional = {
        "orgId": st.one_of(st.sampled_from(["openai", "acme", ""]), _text),
        "userId": _text,
        "agent": _text,
        "sessionId": _text,
        "tier": st.sampled_from(["cheap", "", "  spaced  "]),
        "requests": st.integers(1, 5),
        "latencyMs": st.one_of(st.none(), st.integers(0, 10**5)),
        "success": st.booleans(),
        "statusCode": st.sampled_from([200, 500, None]),
        "costUsd": st.one_of(
            st.decimals(0, 100, places=12).map(str), st.floats(0, 100), st.integers(0, 5)
        ),
        "metadata": st.dictionaries(
            _text, st.one_of(st.integers(-(2**63), 2**63 - 1), _text, st.floats()), max_size=3
        ),
    }
    for name in draw(st.sets(st.sampled_from(sorted(optional)))):
        event[name] = draw(optional[name])
    # on the edge: a part one above its whole, or a moment just past the allowed skew
    edge = draw(st.sampled_from([None] * 6 + ["cacheReadTokens", "reasoningTokens", "future"]))
    if edge == "cacheReadTokens":
        event[edge] = inp + 1
    elif edge == "reasoningTokens":
        event[edge] = out + 1
    elif edge == "future":
        skew = dt.timedelta(minutes=10, microseconds=draw(st.integers(-1, 1)))
        event["timestamp"] = (NOW + skew).isoformat()
    return event


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=st.lists(st.one_of(raw_events(), valid_events()), min_size=1, max_size=4),
    key_org=st.sampled_from([None, "openai", ""]),
    pretty=st.booleans(),
)
def test_the_fast_path_agrees_with_the_contract(pricer, events, key_org, pretty):
    body = json.dumps({"events": events}, indent=1 if pretty else None).encode()
    assert_agree(body, pricer, key_org)


def test_plain_batches_take_the_fast_path(pricer):
    events = [e.to_json_dict() for e in Demo(events=300, days=3, now=NOW, seed=5)]
    body = orjson.dumps({"events": events})
    assert assert_agree(body, pricer)
    assert assert_agree(json.dumps({"events": events}, indent=2).encode(), pricer)
    # a Go or .NET client's nanosecond timestamps: truncated to the microsecond, as the contract
    stamped = [{**e, "timestamp": e["timestamp"][:19] + ".123456789Z"} for e in events[:5]]
    assert assert_agree(orjson.dumps({"events": stamped}), pricer)
    assert fast(orjson.dumps({"events": stamped}), pricer, None).rows[0][1] % 1_000_000 == 123456  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "change",
    [
        {"eventId": "01A203ED-331E-764D-9CA3-BE34E81FE27E"},  # upper case: stored canonical
        {"timestamp": "2026-01-02 03:04:05+00:00"},  # space for the T
        {"agent": "a\x00b"},  # NUL: the contract names it
        {"cacheReadTokens": 10**6},  # a part above its whole
        {"event_id": "x"},  # snake case is the Python name, not the wire name
    ],
)
def test_unusual_events_are_left_to_the_contract(pricer, change):
    event = {
        "eventId": "01a203ed-331e-764d-9ca3-be34e81fe27e",
        "timestamp": "2026-01-02T03:04:05+00:00",
        "provider": "openai",
        "model": "gpt-4o",
        "inputTokens": 10,
        **change,
    }
    body = orjson.dumps({"events": [event]})
    assert fast(body, pricer, None) is None
    assert slow(body, pricer, None) is not None
