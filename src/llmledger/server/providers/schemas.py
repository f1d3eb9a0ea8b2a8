"""The answers of the provider-report routes (reconciliation, import runs)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class CoverageOut(BaseModel):
    provider: str
    importedDays: int
    notImportedDays: int
    notImportedDates: list[str]


class ReconciliationRowOut(BaseModel):
    # the key columns are named for the grouping: ``day``, ``model``, ``project``, or ``day``
    # and ``model`` (``day_model``)
    model_config = ConfigDict(extra="allow", protected_namespaces=())

    provider: str
    day: str | None = None
    model: str | None = None
    project: str | None = None
    trackedCostUsd: float
    billedCostUsd: float
    costDiffUsd: float
    costDiffPercent: float | None
    trackedTokens: int
    reportedTokens: int
    tokensDiff: int
    tokensDiffPercent: float | None
    trackedRequests: int | None
    reportedRequests: int | None
    otherChargesUsd: float
    billedIsEstimate: bool
    flagged: bool
    cause: Literal["price", "untracked", "unreported"] | None
    causeText: str | None


class ReconciliationOut(BaseModel):
    startDate: str
    endDate: str
    groupBy: Literal["day", "model", "project", "day_model"]
    driftPercent: float
    coverage: list[CoverageOut]
    flaggedRows: int
    rows: list[ReconciliationRowOut]


class ImportRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: str | None = Field(default=None, max_length=10, description="First UTC day.")
    until: str | None = Field(default=None, max_length=10, description="Last UTC day, inclusive.")


class ImportRunOut(BaseModel):
    id: int
    provider: str
    startDate: str
    endDate: str
    state: Literal["running", "ok", "failed"]
    trigger: str | None
    usageRows: int
    costRows: int
    metricRows: int
    error: str | None
    startedAt: str
    finishedAt: str | None


class ProviderKeyOut(BaseModel):
    provider: str
    keyVariable: str
    keyConfigured: bool
    keyStored: bool


class ImportsOut(BaseModel):
    providers: list[ProviderKeyOut]
    runs: list[ImportRunOut]


class CredentialIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=512, description="The provider's key (write-only).")


class CredentialOut(BaseModel):
    provider: str
    keySet: bool
    lastFour: str | None
    setAt: str | None
    setBy: str | None
    lastUsedAt: str | None


class BillingRowOut(BaseModel):
    # the key column is named for the grouping: ``project`` or ``lineItem``
    model_config = ConfigDict(extra="allow")

    provider: str
    period: str
    startDate: str
    endDate: str
    project: str | None = None
    lineItem: str | None = None
    costUsd: float
    billedIsEstimate: bool


class BillingKeyOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    provider: str
    project: str | None = None
    lineItem: str | None = None
    costUsd: float
    billedIsEstimate: bool


class BillingPeriodOut(BaseModel):
    period: str
    startDate: str
    endDate: str
    costUsd: float


class BilledTotalOut(BaseModel):
    provider: str
    costUsd: float
    billedIsEstimate: bool
    importedDays: int
    notImportedDays: int
    notImportedDates: list[str]


class BillingOut(BaseModel):
    startDate: str
    endDate: str
    groupBy: Literal["project", "line_item"]
    granularity: Literal["day", "week", "month", "year"]
    costUsd: float
    totals: list[BilledTotalOut]
    periods: list[BillingPeriodOut]
    keys: list[BillingKeyOut]
    rows: list[BillingRowOut]
