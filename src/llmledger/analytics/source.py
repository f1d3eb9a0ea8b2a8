"""Where a question is answered from, and the one aggregate query every breakdown is built on.

Three sources give rows of the same shape (a bucket, the dimensions, the additive measures of
``ROLLUP_MEASURES``), so one ``GROUP BY`` serves them all:

- **rollups** (``rollup_day`` for whole closed days, ``rollup_hour`` for the edge hours and the
  open days, summed by day: see ``store.open_days``) answer every question that needs no user:
  the default;
- **user_day** answers questions filtered or grouped by user that need only requests, tokens
  and cost, by organisation, user or day, with no other filter; the edge hours of a range that
  is not whole days come from raw events;
- **raw events** answer everything else with a user (a user with a provider, model, agent,
  operation, tier or success filter, or a measure such as latency that ``user_day`` lacks).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Select,
    case,
    func,
    literal_column,
    select,
    union_all,
)

from llmledger.analytics.filters import ROLLUP_FILTERS, Filters
from llmledger.analytics.spans import Span, spans, union
from llmledger.store import open_days
from llmledger.store import tables as t
from llmledger.store.rows import US_PER_HOUR

Kind = Literal["rollup", "user_day", "events"]

USER_DAY_MEASURES = frozenset(("requests", "events", "input_tokens", "output_tokens", "cost_nanos"))
_USER_DAY_DIMS = frozenset(("bucket", "org_id", "user_id"))


def choose(filters: Filters, dims: Sequence[str], measures: Sequence[str]) -> Kind:
    """The coarsest source that answers the question exactly."""
    if filters.user_id is None and "user_id" not in dims:
        return "rollup"
    if (
        not filters.beyond_org_and_user
        and set(dims) <= _USER_DAY_DIMS
        and set(measures) <= USER_DAY_MEASURES
    ):
        return "user_day"
    return "events"


_NARROW = frozenset(("bucket", *t.MODEL_DIMENSIONS))


def _rollup(
    span: Span,
    filters: Filters,
    dims: Sequence[str],
    measures: Sequence[str],
    *,
    open_from: int,
) -> Select:
    """``span`` from the rollups; a day span from the first open day on is summed from the
    hourly rows (its buckets still days)."""
    narrow = set(dims) <= _NARROW and set(filters.labels()) <= _NARROW
    daily = span.grain == "day" and span.end <= open_from
    if narrow:  # the narrow rollup holds the same sums in ~30x fewer rows
        table = t.rollup_day_model if daily else t.rollup_hour_model
    else:
        table = t.rollup_day if daily else t.rollup_hour
    c = table.c
    by_day = span.grain == "day" and not daily
    columns = [
        open_days.day_bucket(c.bucket).label("bucket") if d == "bucket" and by_day else c[d]
        for d in dims
    ]
    q = select(*columns, *(c[m] for m in measures)).where(
        c.bucket >= span.start, c.bucket < span.end
    )
    for name, value in filters.labels().items():
        if name in ROLLUP_FILTERS:
            q = q.where(c[name] == value)
    if filters.success is not None:
        q = q.where(c.success.is_(filters.success))
    return q


def _user_day(span: Span, filters: Filters, dims: Sequence[str], measures: Sequence[str]) -> Select:
    c = t.user_day.c
    q = select(*(c[d] for d in dims), *(c[m] for m in measures)).where(
        c.bucket >= span.start, c.bucket < span.end
    )
    if filters.org_id is not None:
        q = q.where(c.org_id == filters.org_id)
    if filters.user_id is not None:
        q = q.where(c.user_id == filters.user_id)
    return q


def _raw_dim(name: str) -> ColumnElement[Any]:
    e = t.events.c
    if name == "bucket":
        return ((e.ts_us // US_PER_HOUR) * 3600).label("bucket")
    if name == "success":
        return e.success
    return func.coalesce(e[name], literal_column("''")).label(name)


def _raw_measure(name: str) -> ColumnElement[Any]:
    e = t.events.c
    fallback = e.cost_source == "fallback"
    exprs: dict[str, ColumnElement[Any]] = {
        "events": literal_column("1"),
        "latency_ms_sum": func.coalesce(e.latency_ms, 0),
        "latency_count": case((e.latency_ms.is_(None), 0), else_=1),
        "fallback_requests": case((fallback, e.requests), else_=0),
        "fallback_cost_nanos": case((fallback, e.cost_nanos), else_=0),
        "provider_cost_nanos": case((e.cost_source == "provider", e.cost_nanos), else_=0),
    }
    expr = exprs.get(name)
    return (expr if expr is not None else e[name]).label(name)


def raw_where(q: Select, filters: Filters) -> Select:
    """``q`` (over ``events``) narrowed by every filter."""
    e = t.events.c
    for name, value in filters.labels().items():
        q = q.where(e[name] == value)
    if filters.success is not None:
        q = q.where(e.success.is_(filters.success))
    return q


def _events(
    start: int, end: int, filters: Filters, dims: Sequence[str], measures: Sequence[str]
) -> Select:
    e = t.events.c
    q = select(*(_raw_dim(d) for d in dims), *(_raw_measure(m) for m in measures)).where(
        e.ts_us >= start * 1_000_000, e.ts_us < end * 1_000_000
    )
    if "user_id" in dims:  # a user breakdown lists users, not "no user"
        q = q.where(e.user_id.is_not(None), e.user_id != "")
    return raw_where(q, filters)


def _at(span: Span, open_from: int) -> list[Span]:
    """A day span cut at the first open day (the parts on either side come from different
    tables)."""
    if span.grain != "day" or not span.start < open_from < span.end:
        return [span]
    return [Span("day", span.start, open_from), Span("day", open_from, span.end)]


def source(
    ranges: Sequence[tuple[int, int]],
    filters: Filters,
    *,
    dims: Sequence[str],
    measures: Sequence[str],
    open_from: int,
    hourly: bool = False,
) -> tuple[FromClause, Kind]:
    """Rows of (dims, measures) covering ``ranges`` (whole hours, in seconds); ``hourly``
    when every bucket must be an hour. ``open_from``: the first open day."""
    kind = choose(filters, dims, measures)
    if hourly and kind == "user_day":
        kind = "events"
    parts: list[Select] = []
    if kind == "events":  # raw buckets are hours, so no cut is needed
        for start, end in union(ranges):
            parts.append(_events(start, end, filters, dims, measures))
    for span in spans(ranges) if kind != "events" else ():
        if kind == "rollup":
            grain = "hour" if hourly else span.grain
            for part in _at(Span(grain, span.start, span.end), open_from):
                parts.append(_rollup(part, filters, dims, measures, open_from=open_from))
        elif span.grain == "day":
            parts.append(_user_day(span, filters, dims, measures))
        else:
            parts.append(_events(span.start, span.end, filters, dims, measures))
    if not parts:  # an empty range: a source with no rows
        parts.append(_events(0, 0, filters, dims, measures))
    if len(parts) == 1:
        return parts[0].subquery("src"), kind
    return union_all(*parts).subquery("src"), kind


def aggregate(
    conn: Connection,
    ranges: Sequence[tuple[int, int]],
    filters: Filters,
    *,
    dims: Sequence[str] = (),
    measures: Sequence[str],
    top: tuple[str, int] | None = None,
    hourly: bool = False,
) -> tuple[list[dict[str, Any]], Kind]:
    """Sums of ``measures`` by ``dims`` over ``ranges``; absent labels come back as ``None``.

    ``top=(measure, n)`` keeps the ``n`` groups with the largest sum of ``measure``; ``hourly``
    makes every ``bucket`` an hour (else whole days are day buckets).
    """
    open_from = open_days.open_from(conn)
    src, kind = source(
        ranges, filters, dims=dims, measures=measures, open_from=open_from, hourly=hourly
    )
    sums = [func.coalesce(func.sum(src.c[m]), 0).label(m) for m in measures]
    q = select(*(src.c[d] for d in dims), *sums)
    if dims:
        q = q.group_by(*(src.c[d] for d in dims))
    if top is not None:
        by = sums[list(measures).index(top[0])]
        q = q.order_by(by.desc(), *(src.c[d] for d in dims)).limit(top[1])
    out = []
    for row in conn.execute(q):
        item: dict[str, Any] = {}
        for d, value in zip(dims, row, strict=False):
            if d == "bucket":
                item[d] = int(value)
            elif d == "success":
                item[d] = bool(value)
            else:
                item[d] = value or None
        for m, value in zip(measures, row[len(dims) :], strict=True):
            item[m] = int(value)
        out.append(item)
    return out, kind
