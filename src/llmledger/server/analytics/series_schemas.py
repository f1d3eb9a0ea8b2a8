"""Response models of the time-series, session, request-log and maintenance endpoints."""

from __future__ import annotations

from typing import Any, Literal

from llmledger.server.analytics.schemas import Out, RequestRow, Source, TrendPoint, Widened
from llmledger.server.pricing.schemas import PriceRowOut


class Series(Out):
    key: str | None
    provider: str | None = None
    model: str | None = None
    orgId: str | None = None
    agent: str | None = None
    costUsd: float
    points: list[TrendPoint]


class TrendsOut(Out):
    startDate: str
    endDate: str
    widened: Widened | None
    groupBy: Literal["hour", "day", "week", "month"]
    splitBy: Literal["provider", "model", "org", "agent"] | None
    buckets: list[str]
    totals: list[TrendPoint]
    series: list[Series]
    answeredFrom: Source


class PatternCell(Out):
    weekday: int
    hour: int
    costUsd: float
    costNanos: int
    requests: int


class UsagePatternOut(Out):
    startDate: str
    endDate: str
    widened: Widened | None
    cells: list[PatternCell]
    answeredFrom: Source


class DailyCost(Out):
    date: str
    costUsd: float


class ForecastDay(DailyCost):
    lowUsd: float
    highUsd: float


class ForecastBudget(Out):
    amountUsd: float
    thresholdCents: int
    ruleId: int
    ruleName: str
    timezone: str
    action: str
    matchingRules: int


class ForecastOut(Out):
    historyStartDate: str
    historyEndDate: str
    history: list[DailyCost]
    days: list[ForecastDay]
    weekdayFactors: list[float]
    trendUsdPerDay: float
    monthToDateCostUsd: float
    todayCostUsd: float
    projectedMonthEndUsd: float
    projectedMonthEndLowUsd: float
    projectedMonthEndHighUsd: float
    budget: ForecastBudget | None
    answeredFrom: Source


class WhatIfDay(Out):
    date: str
    actualCostUsd: float
    asModelCostUsd: float


class WhatIfOut(Out):
    startDate: str
    endDate: str
    widened: Widened | None
    model: str | None
    asProvider: str
    asModel: str
    actualCostUsd: float
    asModelCostUsd: float
    differenceUsd: float
    differencePercent: float | None
    days: list[WhatIfDay]
    answeredFrom: Source


class SessionAgent(Out):
    agent: str | None
    requests: int
    costUsd: float


class SessionRow(Out):
    sessionId: str
    orgId: str | None
    userId: str | None
    agents: list[SessionAgent]
    costUsd: float
    costNanos: int
    requests: int
    inputTokens: int
    outputTokens: int
    firstSeen: str
    lastSeen: str
    durationMinutes: float


class SessionsOut(Out):
    startDate: str
    endDate: str
    sortBy: Literal["cost", "requests", "duration"]
    sessions: list[SessionRow]
    answeredFrom: Source


class SessionDetailOut(Out):
    session: SessionRow
    requestsTruncated: bool
    requests: list[RequestRow]


class RequestsOut(Out):
    startDate: str
    endDate: str
    requests: list[RequestRow]
    nextCursor: str | None


class AggregateOut(Out):
    periodType: Literal["hourly", "daily"]
    startDate: str
    endDate: str
    retentionCutoff: str
    #: the range asked began before the retention cutoff; the rebuild began at it (startDate)
    clipped: bool
    changed: int
    differences: dict[str, int]


class CostLine(Out):
    tokenClass: str
    label: str
    quantity: int
    usdPerMillion: str
    costUsd: str
    note: str | None


class PriceWindowOut(Out):
    startUtc: str
    endUtc: str


class CostExplanation(Out):
    lines: list[CostLine]
    exactCostUsd: str
    costUsd: str
    costNanos: int
    tierAboveInputTokens: int | None
    window: PriceWindowOut | None
    equalsStoredCost: bool | None


class StoredCost(Out):
    costUsd: str
    costNanos: int
    costSource: str


class RequestDetailOut(Out):
    request: RequestRow
    metadata: dict[str, Any] | None
    cost: StoredCost
    price: PriceRowOut | None
    explanation: CostExplanation | None
