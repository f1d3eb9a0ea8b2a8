"""Pure units: spans, buckets, windows, filters, cursors, the forecast fit."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmledger.analytics.buckets import bucket_of, bucket_starts, trend_of
from llmledger.analytics.errors import ParamError
from llmledger.analytics.filters import make_filters
from llmledger.analytics.forecast import _fit
from llmledger.analytics.requests import decode_cursor, encode_cursor
from llmledger.analytics.source import choose
from llmledger.analytics.spans import contains, counted, cover, spans
from llmledger.analytics.window import parse_window

H, D = 3600, 86400
NOW = dt.datetime(2026, 11, 20, 15, 30, tzinfo=dt.UTC)


@given(
    ranges=st.lists(
        st.tuples(st.integers(0, 24 * 60), st.integers(1, 24 * 40)).map(
            lambda p: (p[0] * H, (p[0] + p[1]) * H)
        ),
        min_size=1,
        max_size=4,
    )
)
def test_spans_cover_each_range_exactly_with_aligned_buckets(ranges):
    cut = spans(ranges)
    for a, b in itertools.pairwise(cut):
        assert a.end <= b.start
    for span in cut:
        unit = D if span.grain == "day" else H
        assert span.start % unit == 0 and span.end % unit == 0
    for start, end in ranges:
        # every bucket inside a span is either wholly inside the range or wholly outside
        covered = 0
        for span in cut:
            unit = D if span.grain == "day" else H
            for b in range(span.start, span.end, unit):
                inside = start <= b < end
                assert inside == (start <= b + unit - 1 < end)
                covered += unit if inside else 0
        assert covered == end - start


US = 10**6


@given(
    ranges=st.lists(
        st.tuples(st.integers(0, 3 * D * US), st.integers(1, 2 * D * US)).map(
            lambda p: (p[0], p[0] + p[1])
        ),
        min_size=1,
        max_size=4,
    ),
    instants=st.lists(st.integers(0, 5 * D * US), max_size=40),
)
@pytest.mark.parametrize("raw_from", [None, 0, 2 * D * US])
@pytest.mark.parametrize("unit", [H, D])
def test_cover_gives_every_instant_to_one_part_and_each_row_to_its_ranges(
    ranges, instants, raw_from, unit
):
    """Each instant is counted once, in the ranges that hold it: a complement's bucket adds it
    and its taken-away part (its rows in that bucket) subtracts it again where it is not the
    edge's. The unit is the rollups' hour or user_day's day."""
    plan = cover(ranges, unit * US, raw_from)
    for span in plan.spans:
        unit = D if span.grain == "day" else H
        assert span.start % unit == 0 and span.end % unit == 0
    for x in instants:
        hour = x // US // H * H
        rows = [
            (
                {
                    "bucket": x
                    // US
                    // (D if s.grain == "day" else H)
                    * (D if s.grain == "day" else H)
                },
                1,
            )
            for s in plan.spans
            if s.start * US <= x < s.end * US
        ]
        rows += [({"bucket": hour, "at": a}, 1) for a, b in plan.edges if a <= x < b]
        for c in plan.complements:
            if c.unit[0] <= x < c.unit[1]:
                rows.append(({"bucket": c.unit[0] // US, "at": c.at}, 1))
            if c.less[0] <= x < c.less[1]:
                rows.append(({"bucket": c.unit[0] // US, "at": c.at}, -1))
        inside = [r for r in ranges if r[0] <= x < r[1]]
        for r in ranges:  # a raw edge's rows are by the events' hour, and carry the edge's start
            assert sum(sign for row, sign in rows if contains(r, row)) == (r in inside)
        assert sum(sign for _, sign in rows) == (1 if inside else 0)
    for a, b in plan.edges:  # raw events only for what no whole unit covers
        assert b - a < 2 * unit * US
    for c in plan.complements:  # less than half a unit of raw events taken away
        assert 2 * (c.less[1] - c.less[0]) < unit * US
        assert raw_from is not None and c.unit[0] >= raw_from
    if raw_from is None:
        assert not plan.complements


def test_edges_past_the_raw_events_widen_to_the_unit():
    cutoff = 10 * D * US
    odd = (9 * D * US + 5 * H * US + 7, 10 * D * US + 3 * H * US + 11)
    assert counted(odd, H * US, cutoff) == (9 * D * US + 5 * H * US, odd[1])
    assert counted(odd, D * US, cutoff) == (9 * D * US, odd[1])
    assert counted(odd, None, cutoff) == odd
    early = (odd[0], 9 * D * US + 7 * H * US + 1)
    assert counted(early, H * US, cutoff) == (9 * D * US + 5 * H * US, 9 * D * US + 8 * H * US)
    assert counted(odd, H * US, 0) == odd


def test_whole_days_come_from_the_day_rollup():
    cut = spans([(10 * H, 3 * D + 5 * H)])
    assert [(s.grain, s.start, s.end) for s in cut] == [
        ("hour", 10 * H, D),
        ("day", D, 3 * D),
        ("hour", 3 * D, 3 * D + 5 * H),
    ]


def test_buckets():
    monday = int(dt.datetime(2026, 11, 16, tzinfo=dt.UTC).timestamp())
    assert bucket_of(monday + 3 * D + 5, "week") == monday
    assert bucket_of(monday + 3 * D + 5, "month") == int(
        dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp()
    )
    dec = int(dt.datetime(2026, 12, 1, tzinfo=dt.UTC).timestamp())
    assert bucket_starts(dec - D, dec + 40 * D, "month")[1:] == [
        dec,
        int(dt.datetime(2027, 1, 1, tzinfo=dt.UTC).timestamp()),
    ]
    assert trend_of([1, 2, 3, 4, 5, 6, 7]) == "up"
    assert trend_of([7, 6, 5, 4, 3, 2, 1]) == "down"
    assert trend_of([5, 5, 5, 5, 5, 5, 5]) == "flat"
    assert trend_of([0] * 7) == "flat"


@pytest.mark.parametrize(
    ("start", "end", "param"),
    [
        ("yesterday", None, "startDate"),
        (None, "2026-13-01", "endDate"),
        ("2026-11-10", "2026-11-01", "endDate"),
        ("0001-01-01", None, "startDate"),
        ("2030-01-01", None, "startDate"),
        ("2026-11-01", "9999-12-31", "endDate"),
    ],
)
def test_bad_windows_name_their_parameter(start, end, param):
    with pytest.raises(ParamError) as exc:
        parse_window(start, end, now=NOW)
    assert exc.value.param == param


def test_windows():
    w = parse_window(None, None, now=NOW)
    assert w.range == (
        int(dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp()) * 10**6,
        int(NOW.timestamp()) * 10**6,
    )
    first = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    assert parse_window(None, None, now=first).end_us > parse_window(None, None, now=first).start_us
    w = parse_window("2026-11-01T10:00:00 01:00", "2026-11-01", now=NOW)
    assert w.start_us == int(dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC).timestamp()) * 10**6


def test_filters_and_source_choice():
    f = make_filters(provider=" OpenAI ", user_id="u1")
    assert f.provider == "openai"
    with pytest.raises(ParamError, match="agent"):
        make_filters(agent="  ")
    with pytest.raises(ParamError, match="userId"):
        make_filters(user_id="a\x00b")
    assert choose(make_filters(), ("org_id",), ("cost_nanos",)) == "rollup"
    assert choose(f, ("bucket",), ("cost_nanos",)) == "events"
    assert choose(make_filters(user_id="u"), ("bucket",), ("cost_nanos",)) == "user_day"
    assert choose(make_filters(user_id="u"), (), ("latency_ms_sum",)) == "events"


@given(st.integers(-(2**62), 2**62), st.integers(1, 2**62))
def test_cursor_round_trip(ts, row_id):
    assert decode_cursor(encode_cursor(ts, row_id)) == (ts, row_id)


@pytest.mark.parametrize("bad", ["", "x", "MTIz", "!!!!", "OTk5OTk5OTk5OTk5OTk5OTk5OTkuMQ"])
def test_bad_cursors(bad):
    with pytest.raises(ParamError):
        decode_cursor(bad)


def test_forecast_fit_finds_weekly_rhythm_and_trend():
    start = int(dt.datetime(2026, 9, 7, tzinfo=dt.UTC).timestamp())  # a Monday
    days = [start + i * D for i in range(56)]
    rhythm = [1.2, 1.2, 1.2, 1.2, 1.2, 0.5, 0.5]
    costs = [(10 + 0.1 * i) * rhythm[i % 7] for i in range(56)]
    factors, _intercept, slope, sigma = _fit(days, costs)
    norm = sum(rhythm) / 7
    assert factors == pytest.approx([r / norm for r in rhythm], rel=0.05)
    assert slope * norm == pytest.approx(0.1, rel=0.1)
    assert sigma < 0.5
