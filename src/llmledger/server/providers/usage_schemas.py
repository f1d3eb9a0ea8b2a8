"""The answer of ``GET /api/v1/admin/llm-costs/provider-usage``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class UsageMetricOut(BaseModel):
    metric: str
    label: str
    unit: str
    level: bool  # a level (bytes stored): over several days, its highest day


class UsageTotalOut(UsageMetricOut):
    provider: str
    value: int


class UsageRowOut(BaseModel):
    # the key column is named for the grouping: ``day``, ``project`` or ``model``
    model_config = ConfigDict(protected_namespaces=())

    provider: str
    metric: str
    day: str | None = None
    project: str | None = None
    model: str | None = None
    value: int


class ProviderUsageOut(BaseModel):
    startDate: str
    endDate: str
    groupBy: Literal["day", "project", "model"]
    provider: str | None
    metric: str | None
    metrics: list[UsageMetricOut]
    totals: list[UsageTotalOut]
    rows: list[UsageRowOut]
