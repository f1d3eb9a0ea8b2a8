"""Reading a rendered page the way a test needs it: its tables (each cell's raw value from
``data-value``, its text and link), its charts' JSON, its links and its scripts."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any


@dataclass
class Cell:
    value: str | None
    text: str = ""
    href: str | None = None


@dataclass
class Table:
    id: str
    headers: list[str] = field(default_factory=list)
    rows: list[list[Cell]] = field(default_factory=list)
    csv_href: str | None = None

    def column(self, label: str) -> list[str | None]:
        i = self.headers.index(label)
        return [r[i].value for r in self.rows]

    def values(self) -> list[list[str]]:
        return [[c.value or "" for c in r] for r in self.rows]


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, Table] = {}
        self.json: dict[str, Any] = {}
        self.links: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.text: list[str] = []
        self._table: Table | None = None
        self._in_head = False
        self._cell: Cell | None = None
        self._header: list[str] | None = None
        self._script: dict[str, str | None] | None = None
        self._script_text: list[str] = []
        self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))
        if tag == "script":
            self._script, self._script_text = a, []
            self.scripts.append(a)
        elif tag == "table" and a.get("id", "").startswith("table-"):  # type: ignore[union-attr]
            self._table = Table(str(a["id"])[6:])
        elif self._table is None:
            return
        elif tag == "caption":
            self._in_caption = True
        elif tag == "a" and self._in_caption and "csv" in (a.get("class") or ""):
            self._table.csv_href = a.get("href")
        elif tag == "thead":
            self._in_head = True
        elif tag == "th" and self._in_head:
            self._header = []
        elif tag == "tr" and not self._in_head:
            self._table.rows.append([])
        elif tag == "td" and "data-value" in a:
            self._cell = Cell(a["data-value"])
            self._table.rows[-1].append(self._cell)
        elif tag == "a" and self._cell is not None:
            self._cell.href = a.get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            if self._script.get("type") == "application/json":
                self.json[str(self._script.get("id"))] = json.loads("".join(self._script_text))
            self._script = None
        elif self._table is None:
            return
        elif tag == "caption":
            self._in_caption = False
        elif tag == "thead":
            self._in_head = False
        elif tag == "th" and self._header is not None:
            label = "".join(self._header).replace("↓", "").replace("↑", "").strip()
            self._table.headers.append(label)
            self._header = None
        elif tag == "td":
            self._cell = None
        elif tag == "table":
            self._table.rows = [r for r in self._table.rows if r]
            self.tables[self._table.id] = self._table
            self._table = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._script is not None:
            self._script_text.append(data)
        elif self._header is not None:
            self._header.append(data)
        elif self._cell is not None:
            self._cell.text += data


@dataclass
class Page:
    html: str
    tables: dict[str, Table]
    charts: dict[str, Any]  # chart id -> its Plotly figure
    links: list[str]
    scripts: list[dict[str, str | None]]
    text: str


def read_page(html: str) -> Page:
    reader = _Reader()
    reader.feed(html)
    figures = {k.removeprefix("chart-data-"): v for k, v in reader.json.items()}
    return Page(html, reader.tables, figures, reader.links, reader.scripts, " ".join(reader.text))


def read_csv(text: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


BASE = "/admin/llm-costs"


def get_page(ds: Any, path: str, headers: dict[str, str] | None = None, **params: Any) -> Page:
    """A page of the in-process app (``ds``: the data set), asserted to be HTML."""
    r = ds.client.get(BASE + path, params=params, headers=headers or ds.admin)
    assert r.status_code == 200, r.text[:2000]
    assert r.headers["content-type"].startswith("text/html")
    return read_page(r.text)


def get_api(ds: Any, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
    r = ds.client.get(f"/api/v1/admin/llm-costs{path}", params=params, headers=headers or ds.admin)
    assert r.status_code == 200, r.text
    return r.json()
