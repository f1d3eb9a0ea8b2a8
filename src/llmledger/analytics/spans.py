"""Cutting time ranges into the rollup buckets and raw-event edges that cover them exactly.

A range is ``[start, end)`` in microseconds. The whole UTC days inside it are answered from
``rollup_day``, the other whole hours from ``rollup_hour``, and the partial hours at its edges
from raw events (``Cover.edges``), so an answer counts the range to the microsecond. When a
question compares several ranges at once (this period and the previous one, month to date,
today), every range's boundaries become cuts, so that no bucket or edge straddles a boundary,
and each row belongs to every range that contains its first instant (see ``contains``).

An edge that fills most of its bucket is cheaper counted as the whole bucket less the raw
events of the rest of it (``Complement``): at most half a bucket of raw events per edge.

Raw events are kept for the retention only. ``counted`` widens an edge that lies before
``raw_from_us`` to the whole unit (hour or day) around it, which the rollups still hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal

from llmledger.analytics.window import DAY_S, HOUR_S

Grain = Literal["hour", "day"]
Range = tuple[int, int]

US = 1_000_000
US_PER_HOUR = HOUR_S * US
US_PER_DAY = DAY_S * US


@dataclass(frozen=True, slots=True)
class Span:
    """``[start, end)`` in seconds, answered at ``grain``."""

    grain: Grain
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Complement:
    """An edge that fills most of its bucket, counted as the whole bucket (``unit``, from the
    rollups) less the raw events of the rest of it (``less``): fewer raw events to read. Rows of
    both carry ``at``, the first instant the edge holds (see ``contains``). Microseconds."""

    unit: Range
    less: Range
    at: int


@dataclass(frozen=True, slots=True)
class Cover:
    """What answers a set of ranges: rollup ``spans`` (seconds) for the whole buckets, raw
    ``edges`` (microseconds) for the rest, and ``complements`` for the edges that are cheaper
    counted as a whole bucket less its other part."""

    spans: list[Span]
    edges: list[Range]
    complements: list[Complement] = field(default_factory=list)


def _ceil(value: int, unit: int) -> int:
    return -(-value // unit) * unit


def _floor(value: int, unit: int) -> int:
    return value - value % unit


def union(ranges: Iterable[Range]) -> list[Range]:
    """Sorted, disjoint ranges covering the same instants as ``ranges``."""
    out: list[Range] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def pieces(ranges: Sequence[Range]) -> list[Range]:
    """The union of ``ranges`` cut at every range boundary: each piece lies wholly inside or
    wholly outside each range."""
    cuts = sorted({b for r in ranges for b in r})
    out: list[Range] = []
    for start, end in union(ranges):
        inner = [c for c in cuts if start <= c <= end]
        out.extend(pairwise(inner))
    return out


def counted(range_: Range, unit_us: int | None, raw_from_us: int) -> Range:
    """``range_`` as it can be counted: an edge before ``raw_from_us`` (where raw events begin)
    that is not on a whole ``unit_us`` is widened to it; ``None``: no coarser store to widen to."""
    start, end = range_
    if unit_us is None:
        return range_
    if start < raw_from_us:  # the edge [start, next whole unit) would be raw
        start = _floor(start, unit_us)
    if _floor(end, unit_us) < raw_from_us:  # the edge [last whole unit, end) would be raw
        end = _ceil(end, unit_us)
    return start, end


def cover(
    ranges: Sequence[Range], unit_us: int | None = US_PER_HOUR, raw_from_us: int | None = None
) -> Cover:
    """The whole ``unit_us`` buckets inside ``ranges`` as rollup spans (whole days as day
    spans when the unit is an hour), and everything else as raw edges; ``unit_us=None``: all
    raw. With ``raw_from_us`` (where raw events begin), an edge that fills more than half of
    its bucket, when no other range boundary cuts that bucket, becomes a ``Complement``."""
    whole: list[Range] = []
    edges: list[Range] = []
    complements: list[Complement] = []
    cuts = sorted({b for r in ranges for b in r})

    def alone(unit: Range, cut: int) -> bool:
        """Whether ``cut`` is the only range boundary strictly inside ``unit`` and the raw
        events of ``unit`` are all kept."""
        inner = [c for c in cuts if unit[0] < c < unit[1]]
        return raw_from_us is not None and unit[0] >= raw_from_us and inner == [cut]

    for a, b in pieces(ranges):
        if unit_us is None:
            edges.append((a, b))
            continue
        u0, u1 = _ceil(a, unit_us), _floor(b, unit_us)
        if u0 >= u1:  # no whole bucket: the piece lies within one or across two
            edges.append((a, b))
            continue
        if a < u0:
            unit = (u0 - unit_us, u0)
            if 2 * (u0 - a) > unit_us and alone(unit, a):
                complements.append(Complement(unit, (unit[0], a), a))
            else:
                edges.append((a, u0))
        whole.append((u0 // US, u1 // US))
        if u1 < b:
            unit = (u1, u1 + unit_us)
            if 2 * (b - u1) > unit_us and alone(unit, b):
                complements.append(Complement(unit, (b, unit[1]), u1))
            else:
                edges.append((u1, b))
    return Cover(spans(whole), edges, complements)


def spans(ranges: Sequence[Range]) -> list[Span]:
    """The spans that cover the union of ``ranges`` (whole hours, in seconds), cut at every
    range boundary."""
    for start, end in ranges:
        if start % HOUR_S or end % HOUR_S:
            raise ValueError("ranges must be whole hours")
    out: list[Span] = []
    for a, b in pieces(ranges):
        d0, d1 = _ceil(a, DAY_S), _floor(b, DAY_S)
        if d0 >= d1:
            _append(out, Span("hour", a, b))
            continue
        if a < d0:
            _append(out, Span("hour", a, d0))
        _append(out, Span("day", d0, d1))
        if d1 < b:
            _append(out, Span("hour", d1, b))
    return out


def _append(out: list[Span], span: Span) -> None:
    """Add ``span``, merging it into the previous one when they touch at the same grain (the
    cut between them stays visible through the bucket starts, which is all that matters)."""
    if out and out[-1].grain == span.grain and out[-1].end == span.start:
        out[-1] = Span(span.grain, out[-1].start, span.end)
    else:
        out.append(span)


def contains(range_: Range, row: Mapping[str, Any]) -> bool:
    """Whether an aggregate row (with a ``bucket``) belongs to ``range_`` (microseconds), by the
    first instant the row can hold: its bucket's start, or for raw events (hour buckets, and
    ``at``: the start of the edge they were read for) the later of the two. Exact for every
    bound of the aggregated ranges, and for any other bound on a whole day (on a whole hour when
    no day bucket was read), since no row's instants straddle one."""
    start = row["bucket"] * US
    at = row.get("at")
    if at is not None:
        start = max(start, at)
    return bool(range_[0] <= start < range_[1])


def within(range_: Range, outer: Range) -> bool:
    """Whether the rows of an aggregate over ``outer`` alone answer ``range_`` exactly: it lies
    inside, and each of its bounds is one of ``outer``'s or a whole day."""
    inside = outer[0] <= range_[0] and range_[1] <= outer[1]
    return inside and all(b in outer or b % US_PER_DAY == 0 for b in range_)
