"""Charts as plain data: a Plotly figure (traces and layout) built from what an analytics
function returned, put in the page as JSON (``<script type="application/json">``) and drawn by
``static/charts.js``. Each chart carries a sentence that says what it shows, and the page puts
its numbers in a table beside it, for people who cannot see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmledger.server.web.formats import usd

PALETTE = ("#0f766e", "#2563eb", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#65a30d", "#db2777")
OTHER = "#94a3b8"


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    summary: str  # the text alternative
    figure: dict[str, Any]
    points: int  # how many data points it draws (tests check it is not empty)


def _layout(**extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "margin": {"l": 56, "r": 12, "t": 8, "b": 40},
        "height": 300,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#334155"},
        "legend": {"orientation": "h", "y": -0.18},
        "xaxis": {"gridcolor": "#e2e8f0", "automargin": True},
        "yaxis": {"gridcolor": "#e2e8f0", "tickprefix": "$", "automargin": True},
        "hovermode": "x unified",
    }
    layout.update(extra)
    return layout


def cost_trend(data: dict[str, Any], *, chart_id: str = "trend", top: int = 6) -> Chart:
    """Stacked cost per bucket, one trace per series (the ``top`` largest; the rest summed)."""
    x = [
        b[:13].replace("T", " ") + ":00" if data["groupBy"] == "hour" else b[:10]
        for b in data["buckets"]
    ]
    series = data["series"]
    shown, rest = series[:top], series[top:]
    traces = []
    for i, s in enumerate(shown):
        traces.append(_bar(s["key"] or "total", x, [p["costUsd"] for p in s["points"]], i))
    if rest:
        summed = [sum(s["points"][j]["costUsd"] for s in rest) for j in range(len(x))]
        traces.append(_bar(f"{len(rest)} more", x, summed, None))
    total = sum(p["costUsd"] for p in data["totals"])
    peak = max(data["totals"], key=lambda p: p["costUsd"], default=None)
    unit = "hour" if data["groupBy"] == "hour" else "day"
    summary = f"Cost per {unit}, {usd(total)} in all"
    if peak is not None and peak["costUsd"] > 0:
        summary += f"; the highest {unit} was {peak['bucket'][: 13 if unit == 'hour' else 10]}"
        summary += f" at {usd(peak['costUsd'])}"
    if shown and shown[0]["key"]:
        summary += f"; largest: {shown[0]['key']} ({usd(shown[0]['costUsd'])})"
    figure = {"data": traces, "layout": _layout(barmode="stack")}
    return Chart(chart_id, "Cost over time", summary + ".", figure, len(x) * len(traces))


def _bar(name: str, x: list[str], y: list[float], i: int | None) -> dict[str, Any]:
    color = OTHER if i is None else PALETTE[i % len(PALETTE)]
    return {
        "type": "bar",
        "name": name,
        "x": x,
        "y": y,
        "marker": {"color": color},
        "hovertemplate": "%{y:$,.2f}<extra>" + name.replace("<", "&lt;") + "</extra>",
    }


def donut(rows: Sequence[dict[str, Any]], *, label: str, chart_id: str, title: str) -> Chart:
    """Shares of cost (rows with ``costUsd`` and the ``label`` key)."""
    labels = [str(r[label] or "none") for r in rows]
    values = [r["costUsd"] for r in rows]
    figure = {
        "data": [
            {
                "type": "pie",
                "hole": 0.55,
                "labels": labels,
                "values": values,
                "sort": False,
                "marker": {"colors": [PALETTE[i % len(PALETTE)] for i in range(len(rows))]},
                "textinfo": "percent",
                # inside the slices: labels pulled outside a small slice fall off a phone's edge
                "textposition": "inside",
                "hovertemplate": "%{label}: %{value:$,.2f} (%{percent})<extra></extra>",
            }
        ],
        "layout": _layout(
            height=300,
            margin={"l": 8, "r": 8, "t": 8, "b": 8},
            hovermode=False,
            legend={"orientation": "v"},
        ),
    }
    parts = ", ".join(f"{n} {usd(v)}" for n, v in zip(labels[:5], values[:5], strict=True))
    return Chart(chart_id, title, f"Share of cost: {parts or 'no spend'}.", figure, len(values))


def _short(name: str, most: int = 32) -> str:
    """A label that leaves a phone's chart room for its bars."""
    return name if len(name) <= most else name[: most - 1] + "…"


def with_rest(rows: Sequence[dict[str, Any]], *, label: str, top: int = 7) -> list[dict[str, Any]]:
    """The ``top`` largest rows (largest first) and one row for the rest (``"3 more"``), so a
    donut's shares are of the whole."""
    rows = list(rows)
    if len(rows) <= top + 1:
        return rows
    rest = rows[top:]
    summed = {label: f"{len(rest)} more", "costUsd": sum(r["costUsd"] for r in rest)}
    return [*rows[:top], summed]


def bars(
    rows: Sequence[dict[str, Any]],
    *,
    label: str,
    chart_id: str,
    title: str,
    value: str = "costUsd",
    summary: str | None = None,
    hover: str = "$,.2f",
) -> Chart:
    """``value`` per row (cost, unless told), largest at the top (horizontal bars); the rows
    come largest first. ``hover`` is the d3 format of a value (small unit costs need more
    digits than cents)."""
    rows = list(rows)[:15]
    names = [_short(str(r[label] or "none")) for r in rows][::-1]
    values = [r[value] for r in rows][::-1]
    figure = {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": names,
                "x": values,
                "marker": {"color": PALETTE[0]},
                "hovertemplate": "%{y}: %{x:" + hover + "}<extra></extra>",
            }
        ],
        "layout": _layout(
            height=max(160, 28 * len(rows) + 60),
            xaxis={"gridcolor": "#e2e8f0", "tickprefix": "$"},
            yaxis={"automargin": True},
            hovermode="closest",
        ),
    }
    if summary is None:
        top = f"{names[-1]} {usd(values[-1])}" if rows else "no spend"
        summary = f"Cost per {label}; largest: {top}."
    return Chart(chart_id, title, summary, figure, len(rows))


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def heatmap(
    cells: Sequence[dict[str, Any]], *, chart_id: str = "pattern", value: str = "costUsd"
) -> Chart:
    """Weekday (rows, Monday first) by UTC hour; ``value`` is ``costUsd`` or ``requests``."""
    money = value == "costUsd"
    z = [[0.0] * 24 for _ in range(7)]
    for c in cells:
        z[c["weekday"]][c["hour"]] = c[value]
    shown = "%{z:$,.2f}" if money else "%{z:,} requests"
    figure = {
        "data": [
            {
                "type": "heatmap",
                "z": z,
                "x": [f"{h:02d}" for h in range(24)],
                "y": list(WEEKDAYS),
                "colorscale": [[0, "#f0fdfa"], [1, "#0f766e"]],
                "hovertemplate": "%{y} %{x}:00 UTC: " + shown + "<extra></extra>",
                "colorbar": {"tickprefix": "$" if money else "", "thickness": 10},
            }
        ],
        "layout": _layout(
            height=300,
            yaxis={"autorange": "reversed"},
            xaxis={"title": {"text": "hour of day (UTC)"}},
            hovermode="closest",
        ),
    }
    busiest = max(cells, key=lambda c: c[value], default=None)
    what = "Cost" if money else "Requests"
    summary = f"{what} by weekday and hour of day (UTC)"
    if busiest is not None and busiest[value] > 0:
        amount = usd(busiest[value]) if money else f"{busiest[value]:,} requests"
        summary += (
            f"; the busiest hour is {WEEKDAYS[busiest['weekday']]} {busiest['hour']:02d}:00"
            f" with {amount}"
        )
    return Chart(chart_id, "Usage pattern", summary + ".", figure, 168)


def lines(
    x: list[str],
    named: Sequence[tuple[str, Sequence[float | None]]],
    *,
    chart_id: str,
    title: str,
    summary: str,
    band: tuple[list[str], list[float], list[float]] | None = None,
) -> Chart:
    """Lines over dates; ``band`` is a shaded low..high range under them. A ``None`` value is
    a gap (a series that covers only part of ``x``)."""
    traces: list[dict[str, Any]] = []
    if band is not None:
        bx, low, high = band
        traces.append(
            {
                "type": "scatter",
                "x": bx,
                "y": low,
                "mode": "lines",
                "line": {"width": 0},
                "showlegend": False,
                "hoverinfo": "skip",
            }
        )
        traces.append(
            {
                "type": "scatter",
                "x": bx,
                "y": high,
                "mode": "lines",
                "line": {"width": 0},
                "fill": "tonexty",
                "fillcolor": "rgba(15,118,110,0.15)",
                "name": "likely range",
                "hovertemplate": "up to %{y:$,.2f}<extra></extra>",
            }
        )
    for i, (name, ys) in enumerate(named):
        xs = x if len(ys) == len(x) else x[-len(ys) :]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": name,
                "x": xs,
                "y": list(ys),
                "line": {"color": PALETTE[i % len(PALETTE)], "width": 2},
                "hovertemplate": "%{y:$,.2f}<extra>" + name + "</extra>",
            }
        )
    points = sum(1 for _, ys in named for v in ys if v is not None)
    return Chart(chart_id, title, summary, {"data": traces, "layout": _layout()}, points)


def sparkline(values: Sequence[float], width: int = 80, height: int = 20) -> str:
    """The ``points`` of an SVG polyline (drawn in the page itself: no script needed)."""
    if not values:
        return ""
    top = max(values) or 1.0
    step = width / max(len(values) - 1, 1)
    return " ".join(
        f"{i * step:.1f},{height - 1 - (v / top) * (height - 2):.1f}" for i, v in enumerate(values)
    )


def counts_by_day(
    days: Sequence[str], values: Sequence[int], *, chart_id: str, title: str, unit: str
) -> Chart:
    """A count per UTC day (images, seconds, bytes, ...): bars, no currency."""
    figure = {
        "data": [
            {
                "type": "bar",
                "x": list(days),
                "y": list(values),
                "marker": {"color": PALETTE[0]},
                "hovertemplate": "%{x}: %{y:,} " + unit.replace("<", "&lt;") + "<extra></extra>",
            }
        ],
        "layout": _layout(yaxis={"gridcolor": "#e2e8f0", "automargin": True}),
    }
    peak = max(range(len(values)), key=lambda i: values[i], default=None)
    summary = f"{title} per day, {sum(values):,} {unit} in all"
    if peak is not None and values[peak] > 0:
        summary += f"; the highest day was {days[peak]} at {values[peak]:,} {unit}"
    return Chart(chart_id, title, summary + ".", figure, len(days))
