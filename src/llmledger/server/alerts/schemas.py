"""Request bodies of the alerts API: the rule's fields (``docs/alerts.md``, "Rules").

The types are checked here; what a field means for the rule's type (a threshold the type needs,
a field it does not use, a timezone that exists, a URL that may be called) is checked by
``alerts.rules.parse_rule``, which reports every bad field at once.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

NO_NUL = r"^[^\x00]*$"
Label = Annotated[str, Field(max_length=256, pattern=NO_NUL)] | None
AlertType = Literal[
    "daily_limit",
    "weekly_limit",
    "monthly_limit",
    "cost_spike",
    "forecast_overrun",
    "error_rate",
    "reconciliation_drift",
]


class RuleChange(BaseModel):
    """The fields a change names (``PUT /alerts/{id}``); null clears an optional field."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)] | None = None
    orgId: Label = None
    agent: Label = None
    userId: Label = None
    provider: Label = None
    model: Label = None
    alertType: AlertType | None = None
    thresholdCents: Annotated[int, Field(ge=1, le=10**12)] | None = None
    warningPercent: Annotated[int, Field(ge=1, le=100)] | None = None
    spikePercent: Annotated[int, Field(ge=1, le=100_000)] | None = None
    minCostCents: Annotated[int, Field(ge=0, le=10**12)] | None = None
    thresholdPercent: Annotated[float, Field(gt=0, le=100)] | None = None
    minRequests: Annotated[int, Field(ge=1, le=10**9)] | None = None
    notificationEmails: (
        Annotated[list[Annotated[str, Field(max_length=320)]], Field(max_length=50)] | None
    ) = None
    slackWebhookUrl: Annotated[str, Field(max_length=2048)] | None = None
    webhookUrl: Annotated[str, Field(max_length=2048)] | None = None
    notificationFrequency: Literal["once", "hourly", "every_check"] | None = None
    isActive: bool | None = None
    timezone: Annotated[str, Field(max_length=64)] | None = None
    action: Literal["notify", "block"] | None = None
    rotateWebhookSecret: bool | None = Field(
        default=None, description="Make a new webhook signing secret (shown once)."
    )


class RuleIn(RuleChange):
    """A new rule (``POST /alerts``)."""

    name: Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
    alertType: AlertType
