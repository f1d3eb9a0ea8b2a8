"""Rules and spend for the alert tests: rules made through the API contract, events with the
cost the provider reported (so every sum is known to the nano-dollar)."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from decimal import Decimal
from typing import Any

from llmledger.alerts.rules import Rule, parse_rule
from llmledger.events import UsageEvent
from llmledger.ledger import Ledger

_ids = itertools.count(1)


def rule(**fields: Any) -> Rule:
    """A rule as ``POST /alerts`` would store it (not written anywhere)."""
    body = {"name": "test rule", **fields}
    values = parse_rule(body, allow_private=True).values
    return Rule(id=next(_ids), created_us=0, updated_us=0, **values)


def event(at: dt.datetime, usd: str, *, success: bool = True, **attrs: Any) -> UsageEvent:
    fields: dict[str, Any] = {"provider": "openai", "model": "gpt-4o-mini", **attrs}
    return UsageEvent(
        event_id=uuid.uuid4(),
        timestamp=at,
        input_tokens=10,
        output_tokens=5,
        cost_usd=Decimal(usd),
        success=success,
        **fields,
    )


def spend(ledger: Ledger, at: dt.datetime, usd: str, **attrs: Any) -> None:
    ledger.write([event(at, usd, **attrs)])


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)  # type: ignore[misc]
