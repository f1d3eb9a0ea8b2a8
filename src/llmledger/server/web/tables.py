"""Tables: columns over the plain rows an analytics function returned, rendered as HTML (the
``_table.html`` partial: plain links for sorting, so they work without JavaScript) and as CSV
(the same rows, the same columns, the raw values).

Each HTML cell carries its raw value in ``data-value``: what the CSV holds, and what a test
compares the CSV with.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import Response

from llmledger.server.web.charts import sparkline
from llmledger.server.web.formats import FILTERS, text
from llmledger.server.web.view import View

Row = dict[str, Any]
NUMERIC = frozenset(("usd", "compact", "tokens", "count", "ms", "minutes", "percent", "ratio"))


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    format: str = "text"  # a filter of ``formats.FILTERS``
    href: Callable[[Row], str | None] | None = None
    value: Callable[[Row], Any] | None = None  # the raw value, when it is not ``row[key]``
    sortable: bool = True
    css: Callable[[Row], str | None] | None = None  # a class for the cell (a status colour)
    says: Callable[[Row], str] | None = None  # what the cell says, when not the formatted value

    @property
    def numeric(self) -> bool:
        return self.format in NUMERIC or self.format == "change"

    def raw(self, row: Row) -> Any:
        return self.value(row) if self.value is not None else row.get(self.key)

    def shown(self, row: Row) -> str:
        fmt: Callable[[Any], str] = FILTERS.get(self.format, text)
        return str(fmt(self.raw(row)))


@dataclass(frozen=True)
class Cell:
    text: str
    value: str
    href: str | None
    numeric: bool
    css: str | None = None
    spark: str | None = None  # the points of an inline SVG sparkline


@dataclass(frozen=True)
class Header:
    label: str
    numeric: bool
    sort_url: str | None
    sorted: str | None  # "ascending" | "descending" | None (aria-sort)


@dataclass
class Table:
    id: str
    caption: str
    columns: Sequence[Column]
    rows: list[Row]
    view: View
    empty: str = "Nothing in this range."
    sort: str | None = None  # the key the rows are sorted by
    descending: bool = True
    sortable: bool = False  # whether headers link to a sort
    sort_keys: dict[str, str] = field(default_factory=dict)  # column -> the URL's sort value

    def headers(self) -> list[Header]:
        out = []
        for c in self.columns:
            url = state = None
            if self.sortable and c.sortable:
                key = self.sort_keys.get(c.key, c.key)
                if self.sort == key:  # a second click turns the order round
                    order = "asc" if self.descending else "desc"
                else:  # a first click: largest numbers first, names from A
                    order = "desc" if c.numeric else "asc"
                url = self.view.url(sort=key, order=order, offset=None, cursor=None)
                if self.sort == key:
                    state = "descending" if self.descending else "ascending"
            out.append(Header(c.label, c.numeric, url, state))
        return out

    def body(self) -> list[list[Cell]]:
        return [[_cell(c, r) for c in self.columns] for r in self.rows]

    @property
    def csv_url(self) -> str:
        return self.view.url(csv=self.id)


def _cell(c: Column, r: Row) -> Cell:
    raw = c.raw(r)
    spark = sparkline(raw) if c.format == "spark" else None
    shown = c.says(r) if c.says else "" if spark is not None else c.shown(r)
    # a time stays on one line (a wrapped "UTC" doubled every row's height)
    kind = "num" if c.numeric else "time" if c.format == "utc" else None
    classes = " ".join(x for x in (kind, c.css(r) if c.css else None) if x)
    return Cell(
        shown, csv_value(raw), c.href(r) if c.href else None, c.numeric, classes or None, spark
    )


def csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return " ".join(csv_value(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def sort_rows(rows: Iterable[Row], column: Column, *, descending: bool) -> list[Row]:
    """Rows by a column's raw value; empty values last whichever way."""
    present = [r for r in rows if column.raw(r) is not None]
    missing = [r for r in rows if column.raw(r) is None]

    def key(r: Row) -> Any:
        v = column.raw(r)
        return v.casefold() if isinstance(v, str) else v

    return sorted(present, key=key, reverse=descending) + missing


def sorted_by_view(table: Table, default: str, *, descending: bool = True) -> Table:
    """Sort ``table`` by the URL's ``sort``/``order`` (one of its columns), else ``default``."""
    by_key = {c.key: c for c in table.columns if c.sortable}
    wanted = table.view.get("sort")
    key = wanted if wanted in by_key else default
    order = table.view.get("order")
    desc = descending if order not in ("asc", "desc") or wanted not in by_key else order == "desc"
    table.rows = sort_rows(table.rows, by_key[key], descending=desc)
    table.sort, table.descending, table.sortable = key, desc, True
    return table


def csv_response(table: Table, name: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.label for c in table.columns])
    for r in table.rows:
        writer.writerow([csv_value(c.raw(r)) for c in table.columns])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}-{table.id}.csv"',
            "Cache-Control": "no-store",
        },
    )
