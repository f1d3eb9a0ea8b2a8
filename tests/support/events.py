"""Usage events for storage tests."""

from __future__ import annotations

import datetime as dt
import uuid

from llmledger.events import UsageEvent


def usage_events(n: int, org: str = "acme", *, user: str | None = None) -> list[UsageEvent]:
    """``n`` distinct gpt-4o-mini calls of ``org`` a minute ago (input tokens 100, 101, ...)."""
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    return [
        UsageEvent(
            event_id=uuid.uuid4(),
            timestamp=now,
            provider="openai",
            model="gpt-4o-mini",
            org_id=org,
            user_id=user,
            input_tokens=100 + i,
            output_tokens=10,
        )
        for i in range(n)
    ]
