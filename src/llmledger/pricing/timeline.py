"""Which row is in force when: precedence and effective dates compiled into a list of change
points, so the row in force at a moment is one ``bisect``."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Callable, Sequence

from llmledger.pricing.rows import PriceRow

#: which source wins when several rows are in force at once
PRECEDENCE = {"manual": 0, "litellm": 1, "bundled": 2}


def in_force(rows: Sequence[PriceRow], at: dt.datetime) -> PriceRow | None:
    """The row of one catalog entry in force at ``at``: manual > litellm > bundled; among rows
    of one source, the one that started last. ``rows`` are sorted by start."""
    best: PriceRow | None = None
    for row in rows:
        if row.effective_from > at:
            break
        if row.effective_to is not None and row.effective_to <= at:
            continue
        if best is None or PRECEDENCE.get(row.source, 9) <= PRECEDENCE.get(best.source, 9):
            best = row
    return best


class Timeline:
    """``rows[i]`` is in force from ``starts[i]`` until the next start (``None``: no price)."""

    __slots__ = ("rows", "starts")

    def __init__(self, starts: list[dt.datetime], rows: list[PriceRow | None]) -> None:
        self.starts = starts
        self.rows = rows

    @classmethod
    def of_entry(cls, rows: Sequence[PriceRow]) -> Timeline:
        """The timeline of one catalog entry's rows (sorted by start)."""
        edges = {r.effective_from for r in rows}
        edges |= {r.effective_to for r in rows if r.effective_to is not None}
        return cls._build(sorted(edges), lambda at: in_force(rows, at))

    @classmethod
    def of_name(cls, entries: Sequence[tuple[str, Timeline]]) -> Timeline:
        """The timeline of a name that several entries match, most specific first, each with
        its provider. At each moment the first provider with a price in force prices it;
        among that provider's entries the source precedence decides, then specificity (so a
        manual price on ``gpt-4o`` also wins over a synced ``gpt-4o-2024-08-06``)."""
        if len(entries) == 1:
            return entries[0][1]

        def pick(at: dt.datetime) -> PriceRow | None:
            group: str | None = None
            best: tuple[int, int, PriceRow] | None = None
            for i, (provider, timeline) in enumerate(entries):
                if group is not None and provider != group:
                    continue
                row = timeline.at(at)
                if row is None:
                    continue
                group = provider
                rank = (PRECEDENCE.get(row.source, 9), i, row)
                if best is None or rank[:2] < best[:2]:
                    best = rank
            return None if best is None else best[2]

        edges = sorted({s for _, t in entries for s in t.starts})
        return cls._build(edges, pick)

    @classmethod
    def _build(
        cls, edges: list[dt.datetime], pick: Callable[[dt.datetime], PriceRow | None]
    ) -> Timeline:
        starts: list[dt.datetime] = []
        rows: list[PriceRow | None] = []
        for edge in edges:
            winner = pick(edge)
            if rows and rows[-1] is winner:
                continue
            starts.append(edge)
            rows.append(winner)
        return cls(starts, rows)

    def at(self, moment: dt.datetime) -> PriceRow | None:
        i = bisect_right(self.starts, moment) - 1
        return self.rows[i] if i >= 0 else None
