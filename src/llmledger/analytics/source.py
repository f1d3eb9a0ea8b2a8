"""Where a question is answered from, and the one aggregate query every breakdown is built on.

Three sources give rows of the same shape (a bucket, the dimensions, the additive measures of
``ROLLUP_MEASURES``), so one ``GROUP BY`` serves them all:

- **rollups** (``rollup_day`` for whole closed days, ``rollup_hour`` for the other whole hours
  and the open days, summed by day: see ``store.open_days``) answer every question that needs
  no user: the default;
- **user_day** answers questions filtered or grouped by user that need only requests, tokens
  and cost, by organisation, user or day, with no other filter;
- **raw events** answer everything else with a user (a user with a provider, model, agent,
  operation, tier or success filter, or a measure such as latency that ``user_day`` lacks).

Whatever the source, what its buckets do not cover whole (the partial hours at a range's
edges; for ``user_day``, the partial days) is counted from raw events, so every answer counts
its range to the microsecond. Before the retention cutoff, where raw events are gone, such an
edge is widened to the whole hour (or day) instead: ``counted`` says to what.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    FromClause,
    Label,
    Select,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)

from llmledger.analytics import spans
from llmledger.analytics.filters import ROLLUP_FILTERS, Filters
from llmledger.analytics.spans import Range, Span
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


def kind_of(
    filters: Filters, dims: Sequence[str], measures: Sequence[str], *, hourly: bool = False
) -> Kind:
    """The source ``aggregate`` answers from (``hourly``: every bucket must be an hour)."""
    kind = choose(filters, dims, measures)
    return "events" if hourly and kind == "user_day" else kind


#: the whole buckets each source holds: what an edge past the raw events widens to
_UNIT: dict[Kind, int | None] = {
    "rollup": spans.US_PER_HOUR,
    "user_day": spans.US_PER_DAY,
    "events": None,
}


def counted(range_: Range, kind: Kind, *, raw_from_us: int) -> Range:
    """The range ``aggregate`` counts for ``range_`` (microseconds) from ``kind``: the range
    itself, or widened to whole hours (days, for ``user_day``) at an edge before
    ``raw_from_us``, where raw events begin. Raw events alone cannot be widened."""
    return spans.counted(range_, _UNIT[kind], raw_from_us)


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


@cache
def _raw_dim(name: str) -> ColumnElement[Any]:
    e = t.events.c
    if name == "bucket":
        return ((e.ts_us // US_PER_HOUR) * 3600).label("bucket")
    if name == "success":
        return e.success
    return func.coalesce(e[name], literal_column("''")).label(name)


@cache
def _raw_measure(name: str) -> Label[Any]:
    """A measure of one raw event, built once: building the expressions anew for every part
    of every query cost more than running the query."""
    e = t.events.c
    fallback = e.cost_source == "fallback"
    exprs: dict[str, Callable[[], ColumnElement[Any]]] = {
        "events": lambda: literal_column("1"),
        "latency_ms_sum": lambda: func.coalesce(e.latency_ms, 0),
        "latency_count": lambda: case((e.latency_ms.is_(None), 0), else_=1),
        "fallback_requests": lambda: case((fallback, e.requests), else_=0),
        "fallback_cost_nanos": lambda: case((fallback, e.cost_nanos), else_=0),
        "provider_cost_nanos": lambda: case((e.cost_source == "provider", e.cost_nanos), else_=0),
    }
    expr = exprs.get(name)
    return (expr() if expr is not None else e[name]).label(name)


def raw_where(q: Select, filters: Filters) -> Select:
    """``q`` (over ``events``) narrowed by every filter."""
    e = t.events.c
    for name, value in filters.labels().items():
        q = q.where(e[name] == value)
    if filters.success is not None:
        q = q.where(e.success.is_(filters.success))
    return q


def _events(
    start_us: int,
    end_us: int,
    filters: Filters,
    dims: Sequence[str],
    measures: Sequence[str],
    *,
    less: int | None = None,
) -> Select:
    """The raw events of ``[start_us, end_us)``, by the hour they lie in; ``less``: a
    complement's part to take away from its bucket, which starts at ``less`` (seconds): the
    measures negated, and that bucket for every row, so that they meet the bucket's rows."""
    e = t.events.c
    sums = [_raw_measure(m) for m in measures]
    columns = [_raw_dim(d) for d in dims]
    if less is not None:
        sums = [(-m.element).label(m.name) for m in sums]
        columns = [
            cast(literal_column(str(int(less))), BigInteger).label("bucket") if d == "bucket" else c
            for d, c in zip(dims, columns, strict=True)
        ]
    q = select(*columns, *sums).where(e.ts_us >= start_us, e.ts_us < end_us)
    if "user_id" in dims:  # a user breakdown lists users, not "no user"
        q = q.where(e.user_id.is_not(None), e.user_id != "")
    return raw_where(q, filters)


def _at(span: Span, open_from: int) -> list[Span]:
    """A day span cut at the first open day (the parts on either side come from different
    tables)."""
    if span.grain != "day" or not span.start < open_from < span.end:
        return [span]
    return [Span("day", span.start, open_from), Span("day", open_from, span.end)]


def _tagged(q: Select, at: int | None) -> Select:
    """``q`` with the column ``at``: the start of the raw edge its rows come from (microseconds),
    or NULL for bucket rows (see ``spans.contains``). Typed, so that a UNION of NULLs and
    numbers is a BIGINT on PostgreSQL."""
    value = null() if at is None else literal_column(str(int(at)))
    return q.add_columns(cast(value, BigInteger).label("at"))


def source(
    ranges: Sequence[Range],
    filters: Filters,
    *,
    dims: Sequence[str],
    measures: Sequence[str],
    open_from: int,
    hourly: bool = False,
    raw_from_us: int = 0,
) -> tuple[FromClause, Kind, bool]:
    """Rows of (dims, measures) covering ``ranges`` (microseconds) as ``counted`` counts them;
    ``hourly`` when every bucket must be an hour. ``open_from``: the first open day;
    ``raw_from_us``: where raw events begin. Rows by bucket from raw edges carry ``at``. The
    last value says whether some rows take away (see ``spans.Complement``): groups whose
    ``events`` sum to zero are then empty."""
    kind = kind_of(filters, dims, measures, hourly=hourly)
    unit = _UNIT[kind]
    ranges = [spans.counted(r, unit, raw_from_us) for r in ranges]
    plan = spans.cover(ranges, unit, raw_from_us)
    if plan.complements and "events" not in measures:
        # a group whose events all lie in a complement's taken-away part sums to zero: its
        # count of events lets ``aggregate`` leave it out
        measures = [*measures, "events"]
    # rows by bucket from raw edges say where their edge starts (see ``spans.contains``)
    tag = "bucket" in dims and bool(plan.edges or plan.complements)
    parts: list[Select] = []

    def bucketed(span: Span) -> list[Select]:
        if kind == "user_day":  # its cover is whole days
            return [_user_day(span, filters, dims, measures)]
        grain = "hour" if hourly else span.grain
        return [
            _rollup(part, filters, dims, measures, open_from=open_from)
            for part in _at(Span(grain, span.start, span.end), open_from)
        ]

    for span in plan.spans:
        parts.extend(_tagged(q, None) if tag else q for q in bucketed(span))
    for start, end in plan.edges:
        q = _events(start, end, filters, dims, measures)
        parts.append(_tagged(q, start) if tag else q)
    for c in plan.complements:
        grain: spans.Grain = "day" if kind == "user_day" else "hour"
        whole = Span(grain, c.unit[0] // spans.US, c.unit[1] // spans.US)
        taken = _events(*c.less, filters, dims, measures, less=whole.start)
        parts.extend(_tagged(q, c.at) if tag else q for q in [*bucketed(whole), taken])
    if not parts:  # an empty range: a source with no rows
        q = _events(0, 0, filters, dims, measures)
        parts.append(_tagged(q, None) if tag else q)
    if len(parts) == 1:
        return parts[0].subquery("src"), kind, bool(plan.complements)
    return union_all(*parts).subquery("src"), kind, bool(plan.complements)


def aggregate(
    conn: Connection,
    ranges: Sequence[Range],
    filters: Filters,
    *,
    dims: Sequence[str] = (),
    measures: Sequence[str],
    top: tuple[str, int] | None = None,
    hourly: bool = False,
    raw_from_us: int = 0,
) -> tuple[list[dict[str, Any]], Kind]:
    """Sums of ``measures`` by ``dims`` over ``ranges`` (microseconds, each counted exactly but
    where ``counted`` widens it); absent labels come back as ``None``.

    ``top=(measure, n)`` keeps the ``n`` groups with the largest sum of ``measure``; ``hourly``
    makes every ``bucket`` an hour (else whole days are day buckets). Several ranges need the
    ``bucket`` dimension: ``spans.contains`` tells which range each row belongs to.
    """
    if len(ranges) > 1 and "bucket" not in dims:
        raise ValueError("several ranges need the bucket dimension")
    open_from = open_days.open_from(conn)
    src, kind, takes_away = source(
        ranges,
        filters,
        dims=dims,
        measures=measures,
        open_from=open_from,
        hourly=hourly,
        raw_from_us=raw_from_us,
    )
    keys = [*dims, "at"] if "at" in src.c else list(dims)
    sums = [func.coalesce(func.sum(src.c[m]), 0).label(m) for m in measures]
    q = select(*(src.c[d] for d in keys), *sums)
    if keys:
        q = q.group_by(*(src.c[d] for d in keys))
    if takes_away and keys:
        q = q.having(func.sum(src.c.events) != 0)
    if top is not None:
        by = sums[list(measures).index(top[0])]
        q = q.order_by(by.desc(), *(src.c[d] for d in dims)).limit(top[1])
    out = []
    for row in conn.execute(q):
        item: dict[str, Any] = {}
        for d, value in zip(keys, row, strict=False):
            if d == "bucket":
                item[d] = int(value)
            elif d == "success":
                item[d] = bool(value)
            elif d == "at":
                item[d] = None if value is None else int(value)
            else:
                item[d] = value or None
        for m, value in zip(measures, row[len(keys) :], strict=True):
            item[m] = int(value)
        out.append(item)
    return out, kind
