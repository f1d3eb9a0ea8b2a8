"""Response models of the analytics API (camelCase, as the JSON is); they make the OpenAPI
description exact and check every answer against it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Source = Literal["rollup", "user_day", "events", "sessions"]


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Period(Out):
    startDate: str
    endDate: str


class Widened(Out):
    """The range counted when an edge of the one asked lies before the raw events' retention."""

    startDate: str
    endDate: str
    reason: str


class Money(Out):
    costUsd: float
    costNanos: int
    requests: int
    inputTokens: int
    outputTokens: int
    totalTokens: int


class Totals(Out):
    costUsd: float
    costNanos: int
    totalRequests: int
    inputTokens: int
    outputTokens: int
    cacheReadTokens: int
    reasoningTokens: int
    avgLatencyMs: float | None
    successRate: float | None
    errorCount: int
    costOfFailedRequestsUsd: float
    avgCostPerRequestUsd: float | None
    costPerSuccessfulRequestUsd: float | None
    fallbackPricedRequests: int
    fallbackPricedCostUsd: float


class ProviderShare(Out):
    provider: str
    costUsd: float
    costNanos: int
    requests: int
    sharePercent: float


class GlobalOut(Totals):
    startDate: str
    endDate: str
    widened: Widened | None
    monthToDateCostUsd: float
    todayCostUsd: float
    previousPeriod: Period
    previousPeriodCostUsd: float
    costChangePercent: float | None
    cacheSavingsUsd: float | None
    byProvider: list[ProviderShare]
    answeredFrom: Source


class OrgRow(Money):
    orgId: str | None
    name: str | None
    avgCostPerRequestUsd: float | None
    sharePercent: float
    previousCostUsd: float
    changePercent: float | None


class ByOrgOut(Out):
    startDate: str
    endDate: str
    widened: Widened | None
    previousPeriod: Period
    totalCostUsd: float
    total: int
    limit: int
    offset: int
    orgs: list[OrgRow]
    answeredFrom: Source


class ModelShare(Money):
    provider: str
    model: str
    successRate: float | None
    sharePercent: float


class TrendPoint(Money):
    bucket: str


class DatedMoney(Money):
    date: str


class RequestRow(Out):
    eventId: str
    timestamp: str
    orgId: str | None
    userId: str | None
    agent: str | None
    sessionId: str | None
    agentSessionId: str | None
    agentExecutionId: str | None
    agentPlanId: str | None
    operation: str | None
    provider: str
    model: str
    tier: str | None
    inputTokens: int
    outputTokens: int
    cacheReadTokens: int
    cacheWrite5mTokens: int
    cacheWrite1hTokens: int
    reasoningTokens: int
    inputAudioTokens: int
    outputAudioTokens: int
    requests: int
    costUsd: float
    costNanos: int
    costSource: str
    priceId: int | None
    latencyMs: int | None
    timeToFirstTokenMs: int | None
    success: bool
    errorType: str | None
    statusCode: int | None
    requestId: str | None
    stream: bool | None
    metadata: dict[str, Any] | None = Field(description="The event's metadata, as sent.")


class OrgDetailOut(Out):
    startDate: str
    endDate: str
    widened: Widened | None
    orgId: str
    name: str
    totals: Totals
    models: list[ModelShare]
    trendGroupBy: Literal["day", "week", "month"]
    trend: list[DatedMoney]
    recentRequests: list[RequestRow]
    answeredFrom: Source


class ModelRow(Money):
    provider: str
    model: str
    avgCostPerRequestUsd: float | None
    costPer1kTokensUsd: float | None
    avgTokensPerRequest: float | None
    avgLatencyMs: float | None
    successRate: float | None
    sharePercent: float
    sparkline: list[float]
    trend: Literal["up", "down", "flat"]


class ByModelOut(Out):
    startDate: str
    endDate: str
    widened: Widened | None
    sparklineStartDate: str
    totalCostUsd: float
    models: list[ModelRow]
    answeredFrom: Source


class AgentModel(Out):
    provider: str
    model: str
    costUsd: float
    costNanos: int
    requests: int


class AgentRow(Money):
    agent: str | None
    successRate: float | None
    sharePercent: float
    models: list[AgentModel]


class ByAgentOut(Out):
    startDate: str
    endDate: str
    widened: Widened | None
    totalCostUsd: float
    agents: list[AgentRow]
    answeredFrom: Source


class OperationRow(Money):
    operation: str | None
    avgCostPerRequestUsd: float | None
    successRate: float | None
    sharePercent: float


class ByOperationOut(Out):
    startDate: str
    endDate: str
    widened: Widened | None
    totalCostUsd: float
    operations: list[OperationRow]
    answeredFrom: Source


class UserRow(Money):
    orgId: str | None
    userId: str
    sharePercent: float
    avgCostPerRequestUsd: float | None


class ByUserOut(Out):
    startDate: str
    endDate: str
    widened: Widened | None
    totalCostUsd: float
    users: list[UserRow]
    answeredFrom: Source
