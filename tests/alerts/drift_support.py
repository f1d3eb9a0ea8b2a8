"""Provider reports planted against tracked events for the drift alert tests: report rows and
import runs written into the provider tables (as an import leaves them), events through the
real ingest path with the cost known to the nano-dollar."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from llmledger.providers.tables import provider_costs, provider_imports, provider_usage

D0 = int(dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp())  # day 0: 2026-11-01
DAY = 86400
US = 1_000_000
MINI, BIG = "gpt-4o-mini", "gpt-4o"
#: a check on day 7 (2026-11-08) reads days 0 to 6
NOW = dt.datetime(2026, 11, 8, 9, 30, tzinfo=dt.UTC)


def day(n: int) -> str:
    return dt.datetime.fromtimestamp(D0 + n * DAY, dt.UTC).date().isoformat()


def imported(
    engine: Engine, provider: str, first: int, last: int, *, finished: int, state: str = "ok"
) -> None:
    """An import of days ``first`` to ``last`` (inclusive) that ended (``state``)
    ``finished`` seconds after day 0 began."""
    with engine.begin() as conn:
        conn.execute(
            provider_imports.insert().values(
                provider=provider,
                start_day=D0 + first * DAY,
                end_day=D0 + (last + 1) * DAY,
                state=state,
                usage_rows=0,
                cost_rows=0,
                started_us=(D0 + finished - 60) * US,
                finished_us=(D0 + finished) * US,
                trigger="schedule",
            )
        )


def reported(
    engine: Engine, provider: str, n: int, model: str, tokens: tuple[int, int], usd: str
) -> None:
    """What ``provider`` reported and billed for ``model`` on day ``n``."""
    with engine.begin() as conn:
        conn.execute(
            provider_usage.insert().values(
                provider=provider,
                day=D0 + n * DAY,
                project="",
                model=model,
                requests=3,
                input_tokens=tokens[0],
                cache_read_tokens=0,
                cache_write_tokens=0,
                output_tokens=tokens[1],
                import_id=1,
            )
        )
        conn.execute(
            provider_costs.insert().values(
                provider=provider,
                day=D0 + n * DAY,
                project="",
                line_item=f"{model}, input",
                model=model,
                cost_nanos=int(Decimal(usd) * 10**9),
                import_id=1,
            )
        )


def tracked(
    ledger: Ledger, provider: str, n: int, model: str, tokens: tuple[int, int], usd: str
) -> None:
    """What llmledger captured of ``model`` on day ``n`` (at noon)."""
    event = UsageEvent(
        event_id=uuid.uuid4(),
        timestamp=dt.datetime.fromtimestamp(D0 + n * DAY + 12 * 3600, dt.UTC),
        provider=provider,
        model=model,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        cost_usd=Decimal(usd),
    )
    assert ledger.write([event]).accepted == 1


def both(
    ledger: Ledger, provider: str, n: int, model: str, tokens: tuple[int, int], usd: str
) -> None:
    reported(ledger.engine, provider, n, model, tokens, usd)
    tracked(ledger, provider, n, model, tokens, usd)


def plant(ledger: Ledger, *, mispriced: bool = True) -> None:
    """OpenAI's days 0 to 4, imported after they ended, agreeing with what was tracked but for
    gpt-4o on day 2 (``mispriced``: tracked at $2, billed $3, same tokens); traffic tracked on
    day 5 and 6, which no import covered."""
    for n in range(5):
        both(ledger, "openai", n, MINI, (1000, 500), "1")
        if n == 2:
            reported(ledger.engine, "openai", n, BIG, (2000, 1000), "3")
            tracked(ledger, "openai", n, BIG, (2000, 1000), "2" if mispriced else "3")
        else:
            both(ledger, "openai", n, BIG, (2000, 1000), "3")
    imported(ledger.engine, "openai", 0, 4, finished=5 * DAY + 3600)
    for n in (5, 6):  # tracked, never imported: no drift
        tracked(ledger, "openai", n, BIG, (9000, 9000), "90")


def drift_rule(**fields: Any) -> dict[str, Any]:
    return {"name": "Invoice drift", "alertType": "reconciliation_drift", **fields}
