"""Response shapes of the alerts API, for ``/openapi.json`` and the reference page.

The answers are built as dicts by ``alerts`` (``rule_json``, ``history``, ``status``); these
models name and describe their fields and let every other key through unchanged
(``extra="allow"``), so a field added there is never dropped here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class RuleOut(_Open):
    """A rule as the API shows it: credentials by their last four characters only."""

    id: int
    name: str
    alertType: str
    scope: dict[str, Any]
    isActive: bool
    action: str
    timezone: str
    createdAt: str
    updatedAt: str


class RulesOut(_Open):
    rules: list[RuleOut]


class Deleted(_Open):
    deleted: int


class DeliveryOut(_Open):
    """One channel's delivery of a firing: ``pending``, ``sent`` or ``failed``."""

    id: int
    channel: str
    status: str
    attempts: int


class FiringOut(_Open):
    id: int
    ruleId: int | None
    level: str
    firedAt: str
    deliveries: list[DeliveryOut]


class HistoryOut(_Open):
    firings: list[FiringOut]
    nextCursor: int | None


class AlertOut(_Open):
    """The seed's shape of a rule that is not OK."""

    type: str
    message: str | None
    threshold: Any


class StatusOut(_Open):
    at: str
    rules: list[dict[str, Any]]
    alerts: list[AlertOut]
    counts: dict[str, int]


class BudgetStatusOut(_Open):
    at: str
    blocked: bool
    rules: list[dict[str, Any]]
    scope: dict[str, Any]


class ChannelResult(_Open):
    """How a test message to one channel went: the target masked (URLs), the answer."""

    channel: str
    target: str
    ok: bool
    detail: str


class SentTestOut(_Open):
    ruleId: int
    ok: bool
    results: list[ChannelResult]
