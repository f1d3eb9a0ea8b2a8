"""Pricing questions answered from rollup token sums and the price book (provisional)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from llmledger.analytics.errors import ParamError
from llmledger.analytics.filters import Filters
from llmledger.analytics.overview import CacheSavings
from llmledger.analytics.window import Window


def cache_savings_for(pricer: Any) -> CacheSavings | None:
    return None


def what_if(
    conn: Connection,
    *,
    window: Window,
    filters: Filters,
    pricer: Any,
    as_model: str,
    as_provider: str | None,
) -> dict[str, Any]:
    raise ParamError("asModel", "no price book yet")
