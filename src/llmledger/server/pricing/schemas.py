"""Request and answer bodies of the pricing API (``/api/v1/admin/pricing``).

Prices are decimal strings in answers; numbers are accepted on input and read through ``str``,
so ``2.5`` is exactly 2.5. Unknown fields are refused (a typo in a price name must not silently
drop the price); the read-only fields of a row (``id``, ``source``, ...) may be sent back
unchanged and are ignored, so a row read with GET can be edited and PUT.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Price = Decimal | None
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL
Name = Annotated[str, Field(min_length=1, max_length=256, pattern=NO_NUL)]
Provider = Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)]
Notes = Annotated[str, Field(max_length=2000, pattern=NO_NUL)] | None
#: an ISO date (midnight UTC) or datetime (without an offset: UTC)
When = Annotated[str, Field(max_length=40, pattern=NO_NUL)] | None


class Prices(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputPerMillion: Price = None
    outputPerMillion: Price = None
    cacheReadPerMillion: Price = None
    cacheWrite5mPerMillion: Price = None
    cacheWrite1hPerMillion: Price = None
    reasoningPerMillion: Price = None
    inputAudioPerMillion: Price = None
    outputAudioPerMillion: Price = None


class TierIn(Prices):
    aboveInputTokens: int = Field(ge=0, le=10**9)


class WindowIn(Prices):
    """Prices that replace the row's every day from ``startUtc`` to ``endUtc`` (HH:MM)."""

    startUtc: Annotated[str, Field(max_length=15, pattern=NO_NUL)]
    endUtc: Annotated[str, Field(max_length=15, pattern=NO_NUL)]


class PriceChange(Prices):
    """A new manual price for a model (``PUT /models/{id}``)."""

    aliases: list[Name] = Field(default_factory=list, max_length=50)
    perRequest: Price = None
    tiers: list[TierIn] = Field(default_factory=list, max_length=20)
    windows: list[WindowIn] = Field(default_factory=list, max_length=10)
    effectiveFrom: When = Field(
        default=None, description="When the price starts (date or datetime; default now)."
    )
    notes: Notes = None
    # read-only fields of a row read with GET: ignored (provider and model must be the row's)
    provider: Provider | None = None
    model: Name | None = None
    id: int | None = None
    effectiveTo: Any = None
    source: Any = None
    changedBy: Any = None
    changedAt: Any = None

    def fields(self) -> dict[str, Any]:
        data = self.model_dump(
            exclude={"provider", "model", "id", "effectiveTo", "source", "changedBy", "changedAt"}
        )
        data["tiers"] = [t.model_dump() for t in self.tiers]
        data["windows"] = [w.model_dump() for w in self.windows]
        return data


class PriceIn(PriceChange):
    """A manual price (``POST /models``); ``provider`` is inferred from the model name when
    absent (``gpt-*`` → openai, ``claude-*`` → anthropic, ...)."""

    model: Name


class TierOut(BaseModel):
    aboveInputTokens: int
    inputPerMillion: str | None = None
    outputPerMillion: str | None = None
    cacheReadPerMillion: str | None = None
    cacheWrite5mPerMillion: str | None = None
    cacheWrite1hPerMillion: str | None = None
    reasoningPerMillion: str | None = None
    inputAudioPerMillion: str | None = None
    outputAudioPerMillion: str | None = None


class WindowOut(BaseModel):
    startUtc: str
    endUtc: str
    inputPerMillion: str | None = None
    outputPerMillion: str | None = None
    cacheReadPerMillion: str | None = None
    cacheWrite5mPerMillion: str | None = None
    cacheWrite1hPerMillion: str | None = None
    reasoningPerMillion: str | None = None
    inputAudioPerMillion: str | None = None
    outputAudioPerMillion: str | None = None


class PriceRowOut(BaseModel):
    id: int | None
    provider: str
    model: str
    aliases: list[str]
    inputPerMillion: str | None
    outputPerMillion: str | None
    cacheReadPerMillion: str | None
    cacheWrite5mPerMillion: str | None
    cacheWrite1hPerMillion: str | None
    reasoningPerMillion: str | None
    inputAudioPerMillion: str | None
    outputAudioPerMillion: str | None
    perRequest: str | None
    tiers: list[TierOut]
    windows: list[WindowOut]
    effectiveFrom: str | None
    effectiveTo: str | None
    source: str
    notes: str | None
    changedBy: str | None
    changedAt: str | None


class ModelsOut(BaseModel):
    at: str
    models: list[PriceRowOut]
    total: int
    nextOffset: int | None


class HistoryRowOut(PriceRowOut):
    inForce: bool


class HistoryOut(BaseModel):
    provider: str
    model: str
    inForceNow: int | None
    rows: list[HistoryRowOut]


class RepriceSuggestion(BaseModel):
    provider: str
    model: str
    events: int
    since: str | None
    fallbackEventsBefore: int
    hint: str | None = None


class InheritedOut(BaseModel):
    """Token prices the change left out, copied from the row that priced the model at its
    start."""

    fromId: int
    source: str
    prices: list[str] = Field(description="The inherited fields, e.g. inputPerMillion.")


class ChangeOut(PriceRowOut):
    closed: list[int]
    inherited: InheritedOut | None
    repriceSuggested: RepriceSuggestion | None


class DeleteOut(BaseModel):
    deleted: PriceRowOut
    inForceNow: PriceRowOut | None


class FallbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputPerMillion: Decimal
    outputPerMillion: Decimal
    effectiveFrom: When = None
    notes: Notes = None


class FallbackOut(BaseModel):
    id: int | None
    inputPerMillion: str | None
    outputPerMillion: str | None
    effectiveFrom: str | None
    history: list[PriceRowOut]


class UnpricedModel(BaseModel):
    provider: str
    model: str
    requests: int
    spendUsd: str
    #: null for a day that cannot be shown (a stored timestamp outside years 1 to 9999)
    firstSeen: str | None
    lastSeen: str | None
    pricedNow: bool


class UnpricedOut(BaseModel):
    models: list[UnpricedModel]
    total: int
    nextOffset: int | None


class SyncIn(BaseModel):
    """Sync from a URL (default ``LLMLEDGER_LITELLM_URL``) or an installed litellm's copy. To
    upload the file instead, send it as the body with ``?source=litellm``."""

    model_config = ConfigDict(extra="forbid")

    source: Literal["litellm", "genai-prices"] = "litellm"
    url: Annotated[str, Field(max_length=2000, pattern=NO_NUL)] | None = None
    installed: bool = False
    modes: list[Annotated[str, Field(max_length=64, pattern=NO_NUL)]] | None = Field(
        default=None, max_length=20
    )
    force: bool = Field(default=False, description="Sync even if the catalog shrank > 20%.")


class RepriceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    startDate: Annotated[str, Field(max_length=40, pattern=NO_NUL)]
    endDate: Annotated[str, Field(max_length=40, pattern=NO_NUL)]
    orgId: Annotated[str, Field(min_length=1, max_length=256, pattern=NO_NUL)] | None = None
    model: Name | None = None
    provider: Provider | None = None
    wait: bool = Field(default=False, description="Answer when done instead of with a job id.")


class RepriceJobOut(BaseModel):
    jobId: str
    state: str
    scope: dict[str, Any]
    eventsInScope: int
    eventsScanned: int
    eventsChanged: int
    costBeforeUsd: str
    costAfterUsd: str
    costDeltaUsd: str
    progress: float
    error: str | None
    requestedBy: str | None
    createdAt: str
    finishedAt: str | None


class ProviderCostOut(BaseModel):
    provider: str
    costUsd: float
    requests: int
    sharePercent: float


class ModelCostOut(ProviderCostOut):
    model: str


class CostSummaryOut(BaseModel):
    startDate: str
    endDate: str
    costUsd: float
    costNanos: int
    requests: int
    avgCostPerRequestUsd: float | None
    sessions: int = Field(description="Sessions active in the range.")
    avgCostPerSessionUsd: float | None = Field(description="Their whole cost per session.")
    sessionsCostUsd: float
    fallbackPricedRequests: int
    fallbackPricedCostUsd: float
    byProvider: list[ProviderCostOut]
    topModels: list[ModelCostOut] = Field(description="The 5 most expensive models.")


class RepriceJobsOut(BaseModel):
    jobs: list[RepriceJobOut]
