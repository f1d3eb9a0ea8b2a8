"""Cutting a time range into the coarsest rollup buckets that cover it exactly.

A range of whole hours is answered from ``rollup_day`` for the whole UTC days inside it and from
``rollup_hour`` for the hours at either edge. When a question compares several ranges at once
(this period and the previous one, month to date, today), every range's boundaries become cuts,
so that no bucket straddles a boundary and each bucket's rows can be given to every range that
contains its start.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

from llmledger.analytics.window import DAY_S, HOUR_S

Grain = Literal["hour", "day"]


@dataclass(frozen=True, slots=True)
class Span:
    """``[start, end)`` in seconds, answered at ``grain``."""

    grain: Grain
    start: int
    end: int


def _ceil(value: int, unit: int) -> int:
    return -(-value // unit) * unit


def union(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, disjoint ranges covering the same seconds as ``ranges``."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def spans(ranges: Sequence[tuple[int, int]]) -> list[Span]:
    """The spans that cover the union of ``ranges`` (whole hours), cut at every range boundary."""
    for start, end in ranges:
        if start % HOUR_S or end % HOUR_S:
            raise ValueError("ranges must be whole hours")
    cuts = sorted({b for r in ranges for b in r})
    out: list[Span] = []
    for start, end in union(ranges):
        inner = [c for c in cuts if start <= c <= end]
        for a, b in pairwise(inner):
            d0, d1 = _ceil(a, DAY_S), b - b % DAY_S
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


def contains(range_: tuple[int, int], bucket: int) -> bool:
    return range_[0] <= bucket < range_[1]
