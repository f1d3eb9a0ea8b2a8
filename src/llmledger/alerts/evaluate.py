"""Each rule's current value and state (OK, WARNING, CRITICAL), exact to the nano-dollar.

Values come from the analytics layer's one aggregate (``analytics.source.aggregate``): whole
UTC days from the daily rollups, whole hours from the hourly ones, and the partial hours at a
period's edges (a zone such as ``Asia/Kolkata`` starts its days on half hours) from raw events,
so every sum counts its period to the microsecond.

One round asks one question per store and measure, however many rules it answers: a rule's
scope *shape* (which of organisation, agent, user, provider and model it sets) says which
store answers it (the narrow rollups, the wide ones, ``user_day``; ``_family``), and the shapes
of one store are asked together, the sums grouped by all their columns and by bucket, over
every range any of those rules needs at once. Each scope's rows are then summed by bucket and
each rule reads its own (``spans.contains`` says which range a row belongs to). A store asked
for one scope only is filtered to it instead.

How each type is measured (``now`` is the check's time; periods: ``alerts.periods``):

- ``daily_limit`` / ``weekly_limit`` / ``monthly_limit``: the cost from the start of the
  rule's day, week or month up to now, against ``thresholdCents``;
- ``forecast_overrun``: the cost of the rule's month so far plus what the forecast model
  (``analytics.forecast``, fitted to the last 56 whole UTC days) projects for the rest of it;
- ``cost_spike``: the last whole UTC hour's cost against the mean hour of the 7 days before it
  raised by ``spikePercent`` (200: three times the mean), and never below ``minCostCents``;
- ``error_rate``: failed requests over the last 60 minutes as a percentage of all, against
  ``thresholdPercent``, and only from ``minRequests`` requests on;
- ``reconciliation_drift``: the rows reconciliation flags over the settled days of the last
  week, one finding per provider and day (``alerts.drift``).

A value at or above the threshold is CRITICAL; at or above ``warningPercent`` of it, WARNING.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Connection

from llmledger.alerts.periods import Period, calendar_period, last_full_hour, trailing_hour
from llmledger.alerts.rules import DRIFT, LIMIT_TYPES, SCOPE, Rule
from llmledger.analytics.filters import Filters
from llmledger.analytics.forecast import HISTORY_DAYS, projection
from llmledger.analytics.source import aggregate
from llmledger.analytics.spans import US, Range, contains
from llmledger.analytics.window import DAY_S
from llmledger.money import NANOS_PER_USD
from llmledger.store.rows import to_us

State = Literal["OK", "WARNING", "CRITICAL"]
Measure = Literal["cost", "requests"]
US_PER_HOUR = 3600 * US
SPIKE_HOURS = 7 * 24


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A rule's state at one check. Money is in nano-dollars (``unit`` ``usd``); an error
    rate in percent (``unit`` ``percent``)."""

    rule: Rule
    state: State
    period: Period
    value: int | float
    threshold: int | float | None
    unit: Literal["usd", "percent"]
    #: the figures behind the value (requests, failed, mean hour, month to date, ...)
    extra: dict[str, Any] = field(default_factory=dict)
    #: the range the value counts (microseconds): the period up to now, or the hour
    measured: Range = (0, 0)
    #: what fires, when it is not the rule's state itself: a drift rule's provider-days
    findings: tuple[Evaluation, ...] = ()

    @property
    def percent_used(self) -> float | None:
        if not self.threshold:
            return None
        return round(self.value * 100 / self.threshold, 2)

    def shown(self, amount: int | float | None) -> float | None:
        """An amount as the API shows it: USD (9 decimals) or percent."""
        if amount is None:
            return None
        if self.unit == "usd":
            return round(amount / NANOS_PER_USD, 9)
        return round(float(amount), 4)

    def as_json(self) -> dict[str, Any]:
        rule = self.rule
        return {
            "ruleId": rule.id,
            "ruleName": rule.name,
            "alertType": rule.alert_type,
            "action": rule.action,
            "scope": rule.scope,
            "state": self.state,
            "value": self.shown(self.value),
            "threshold": self.shown(self.threshold),
            "unit": self.unit,
            "percentUsed": self.percent_used,
            "period": self.period.as_json(),
        }


def level(value: int | float, threshold: int | float, warning_percent: int) -> State:
    """CRITICAL from the threshold on, WARNING from ``warning_percent`` of it (exact for
    integers: no division)."""
    if value >= threshold:
        return "CRITICAL"
    if value * 100 >= threshold * warning_percent:
        return "WARNING"
    return "OK"


# -- what each rule needs -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Need:
    """One sum a rule needs: ``measure`` over ``range`` (microseconds) for its scope."""

    measure: Measure
    range: Range


def _needs(rule: Rule, now: dt.datetime) -> tuple[Period, dict[str, Need]]:
    now_us = to_us(now)
    kind = rule.alert_type
    if kind in LIMIT_TYPES:
        period = calendar_period(LIMIT_TYPES[kind], rule.timezone, now)  # type: ignore[arg-type]
        return period, {"spent": Need("cost", (period.start_us, now_us))}
    if kind == "forecast_overrun":
        period = calendar_period("month", rule.timezone, now)
        today = now_us // US // DAY_S * DAY_S * US
        return period, {
            "spent": Need("cost", (period.start_us, now_us)),
            "history": Need("cost", (today - HISTORY_DAYS * DAY_S * US, today)),
            "today": Need("cost", (today, now_us)),
        }
    if kind == "cost_spike":
        period = last_full_hour(now)
        return period, {
            "hour": Need("cost", period.range),
            "before": Need("cost", (period.start_us - SPIKE_HOURS * US_PER_HOUR, period.start_us)),
        }
    if kind == "error_rate":
        period = trailing_hour(now)
        return period, {"requests": Need("requests", period.range)}
    raise ValueError(f"unknown alert type {kind!r}")


# -- the grouped sums -----------------------------------------------------------------------

Key = tuple[str | None, ...]


class Sums:
    """The rows of one grouped aggregate per (shape, measure), by scope."""

    def __init__(self) -> None:
        self.rows: dict[tuple[tuple[str, ...], Measure], dict[Key, list[dict[str, Any]]]] = {}

    def load(
        self,
        conn: Connection,
        shapes: dict[tuple[str, ...], set[Key]],
        measure: Measure,
        ranges: Iterable[Range],
        *,
        raw_from_us: int,
    ) -> None:
        """One grouped question answering every shape of ``shapes`` (each with the scopes its
        rules need) for ``measure`` over ``ranges``: grouped by the union of their columns,
        each row then counted for the scope of each shape it falls in."""
        found: dict[tuple[str, ...], dict[Key, list[dict[str, Any]]]] = {
            shape: defaultdict(list) for shape in shapes
        }
        for shape in shapes:
            self.rows[(shape, measure)] = found[shape]
        ranges = sorted({r for r in ranges if r[1] > r[0]})
        if not ranges:
            return
        measures = ("cost_nanos",) if measure == "cost" else ("requests",)
        dims: tuple[str, ...] = ("bucket",) if measure == "cost" else ("bucket", "success")
        columns = tuple(c for c in SCOPE.values() if any(c in shape for shape in shapes))
        if len(shapes) == 1:
            ((shape, keys),) = shapes.items()
            if len(keys) == 1:  # one scope: filter to it (an index or narrower rollup serves)
                (only,) = keys
                filters = Filters(**dict(zip(shape, only, strict=True)))  # type: ignore[arg-type]
                rows, _ = aggregate(
                    conn, ranges, filters, dims=dims, measures=measures, raw_from_us=raw_from_us
                )
                found[shape][only] = rows
                return
        rows, _ = aggregate(
            conn,
            ranges,
            Filters(),
            dims=(*dims, *columns),
            measures=measures,
            raw_from_us=raw_from_us,
        )
        # rows of the finer grouping are summed into each scope's own rows (by bucket, edge
        # and success): a shape of few columns (the platform: one scope) gets a few hundred
        # rows, not every row of the question
        (total,) = measures
        summed: dict[tuple[tuple[str, ...], Key], dict[tuple[Any, ...], int]] = defaultdict(
            lambda: defaultdict(int)
        )
        for row in rows:
            slot = (row["bucket"], row.get("at"), row.get("success"))
            for shape, keys in shapes.items():
                key = tuple(row[c] for c in shape)
                if key in keys:
                    summed[(shape, key)][slot] += row[total]
        for (shape, key), slots in summed.items():
            found[shape][key] = [
                {"bucket": bucket, "at": at, "success": success, total: value}
                for (bucket, at, success), value in slots.items()
            ]

    def of(self, rule: Rule, measure: Measure) -> list[dict[str, Any]]:
        shape = rule.scope_columns
        key = tuple(getattr(rule, c) for c in shape)
        return self.rows.get((shape, measure), {}).get(key, [])


#: the scope columns each store is keyed by: the narrow rollups (organisation, provider,
#: model), the wide ones (agent too) and ``user_day`` (organisation and user)
_NARROW = frozenset(("org_id", "provider", "model"))
_WIDE = frozenset(("org_id", "agent", "provider", "model"))
_USER = frozenset(("org_id", "user_id"))


def _family(shape: tuple[str, ...]) -> str:
    """Which store answers a shape, so that shapes of one store share one question grouped by
    the union of their columns (which that store still answers); ``alone``: asked alone."""
    columns = set(shape)
    for name, store in (("narrow", _NARROW), ("wide", _WIDE), ("user", _USER)):
        if columns <= store:
            return name
    return "alone"


def _total(rows: Sequence[dict[str, Any]], range_: Range, measure: str = "cost_nanos") -> int:
    return sum(r[measure] for r in rows if contains(range_, r))


def _daily(rows: Sequence[dict[str, Any]], range_: Range) -> dict[int, int]:
    out: dict[int, int] = defaultdict(int)
    for r in rows:
        if contains(range_, r):
            day = r["bucket"] - r["bucket"] % DAY_S
            out[day] += r["cost_nanos"]
    return out


# -- one round --------------------------------------------------------------------------------


def evaluate(
    conn: Connection,
    rules: Sequence[Rule],
    *,
    now: dt.datetime,
    raw_from_us: int = 0,
    drift_percent: Decimal | None = None,
) -> list[Evaluation]:
    """The state of every rule in ``rules`` at ``now``, in their order, with one grouped
    question per scope shape and measure. ``raw_from_us``: where raw events begin (the
    retention cutoff); ``drift_percent``: the threshold of drift rules without their own
    (``LLMLEDGER_RECONCILIATION_DRIFT_PERCENT``)."""
    # drift rules read the reconciliation, not the sums (imported late: a cycle otherwise)
    from llmledger.alerts.drift import DEFAULT_DRIFT_PERCENT, judge_drift

    drifting = [r for r in rules if r.alert_type == DRIFT]
    spent = _evaluate_sums(conn, [r for r in rules if r.alert_type != DRIFT], now, raw_from_us)
    judged = iter(
        judge_drift(
            conn,
            drifting,
            now=now,
            drift_percent=DEFAULT_DRIFT_PERCENT if drift_percent is None else drift_percent,
        )
    )
    summed = iter(spent)
    return [next(judged) if r.alert_type == DRIFT else next(summed) for r in rules]


def _evaluate_sums(
    conn: Connection, rules: Sequence[Rule], now: dt.datetime, raw_from_us: int
) -> list[Evaluation]:
    planned = [(rule, *_needs(rule, now)) for rule in rules]
    keys: dict[tuple[tuple[str, ...], Measure], set[Key]] = defaultdict(set)
    ranges: dict[tuple[tuple[str, ...], Measure], set[Range]] = defaultdict(set)
    for rule, _, needs in planned:
        shape = rule.scope_columns
        for need in needs.values():
            keys[(shape, need.measure)].add(tuple(getattr(rule, c) for c in shape))
            ranges[(shape, need.measure)].add(need.range)
    # shapes answered by the same store are asked together, grouped by all their columns
    families: dict[tuple[str, Measure], dict[tuple[str, ...], set[Key]]] = defaultdict(dict)
    for (shape, measure), wanted in keys.items():
        families[(_family(shape), measure)][shape] = wanted
    sums = Sums()
    for (family, measure), shapes in families.items():
        groups = [shapes] if family != "alone" else [{s: k} for s, k in shapes.items()]
        for group in groups:
            needed = set().union(*(ranges[(shape, measure)] for shape in group))
            sums.load(conn, group, measure, needed, raw_from_us=raw_from_us)
    return [_judge(rule, period, needs, sums, now) for rule, period, needs in planned]


def _judge(
    rule: Rule, period: Period, needs: dict[str, Need], sums: Sums, now: dt.datetime
) -> Evaluation:
    kind = rule.alert_type
    if kind == "error_rate":
        rows = sums.of(rule, "requests")
        span = needs["requests"].range
        total = _total(rows, span, "requests")
        failed = sum(r["requests"] for r in rows if not r["success"] and contains(span, r))
        rate = failed * 100 / total if total else 0.0
        threshold = float(rule.threshold_percent or 0)
        state: State = "OK"
        if total >= (rule.min_requests or 0) and total:
            # exact: failed/total >= t/100  <=>  failed*100 >= t*total
            state = level(failed * 100, threshold * total, rule.warning_percent)
        extra = {"requests": total, "failedRequests": failed, "minRequests": rule.min_requests}
        return Evaluation(rule, state, period, rate, threshold, "percent", extra, span)
    rows = sums.of(rule, "cost")
    if kind == "cost_spike":
        hour = _total(rows, needs["hour"].range)
        before = _total(rows, needs["before"].range)
        spike = rule.spike_percent or 0
        # the threshold is mean * (100 + spike) / 100 with mean = before / 168; compared
        # without dividing: hour * 16800 against before * (100 + spike)
        scale = SPIKE_HOURS * 100
        floor = (rule.min_cost_cents or 0) * 10_000_000
        state = "OK"
        if hour >= floor and hour > 0:
            state = level(hour * scale, before * (100 + spike), rule.warning_percent)
        threshold_nanos = -(-before * (100 + spike) // scale)
        extra = {
            "meanHourUsd": round(before / SPIKE_HOURS / NANOS_PER_USD, 9),
            "spikePercent": spike,
            "minCostUsd": floor / NANOS_PER_USD,
        }
        shown = max(threshold_nanos, floor)
        return Evaluation(rule, state, period, hour, shown, "usd", extra, needs["hour"].range)
    threshold = rule.threshold_nanos or 0
    spent = _total(rows, needs["spent"].range)
    if kind == "forecast_overrun":
        history = needs["history"].range
        start, end = history[0] // US, history[1] // US
        projected = projection(_daily(rows, history), start, end)
        today = end
        spent_today = _total(rows, needs["today"].range)
        rest = max(projected(today) * NANOS_PER_USD - spent_today, 0.0)
        day = today + DAY_S
        while day * US < period.end_us:
            rest += projected(day) * NANOS_PER_USD
            day += DAY_S
        value = spent + int(rest)
        extra = {"monthToDateUsd": spent / NANOS_PER_USD}
        state = level(value, threshold, rule.warning_percent)
        return Evaluation(rule, state, period, value, threshold, "usd", extra, needs["spent"].range)
    state = level(spent, threshold, rule.warning_percent)
    return Evaluation(rule, state, period, spent, threshold, "usd", {}, needs["spent"].range)
