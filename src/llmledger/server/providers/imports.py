"""``POST /api/v1/admin/imports/{provider}/run`` (import a range now) and
``GET /api/v1/admin/imports`` (the runs, and which providers have a key): admins only."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from llmledger.providers.errors import NoKey, RangeError, ReportError
from llmledger.providers.imports import run_import
from llmledger.providers.lease import ImportBusy
from llmledger.providers.runs import configured, latest_runs, run_json
from llmledger.providers.tables import provider_imports
from llmledger.server.deps import AdminDep, AuditDep, LedgerDep, RolesFirst
from llmledger.server.providers.schemas import ImportRunIn, ImportRunOut, ImportsOut
from llmledger.store.rows import to_us

PREFIX = "/api/v1/admin/imports"
router = APIRouter(prefix=PREFIX, tags=["providers"], route_class=RolesFirst)
DAY_S = 86400
#: what a run without a range re-fetches: providers finalise the last days late
RECENT_DAYS = 3
Provider = Literal["openai", "anthropic", "groq"]


def _day(param: str, value: str) -> int:
    try:
        if len(value) != 10:
            raise ValueError
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{param}: {value!r} is not a date (YYYY-MM-DD)") from None
    if not 1970 <= day.year <= 2999:
        raise HTTPException(422, f"{param}: must be between 1970 and 2999")
    return int(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp())


@router.get("", response_model=ImportsOut)
def get_imports(
    ledger: LedgerDep,
    _: AdminDep,
    provider: Provider | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> dict[str, Any]:
    """The latest runs, newest first (``before``: those older than a run id), and each
    provider's key variable and whether it is set."""
    with ledger.engine.connect() as conn:
        return {
            "providers": configured(conn),
            "runs": latest_runs(conn, provider=provider, limit=limit, before=before),
        }


@router.post("/{provider}/run", response_model=ImportRunOut)
async def post_run(
    ledger: LedgerDep,
    _: AdminDep,
    audit: AuditDep,
    request: Request,
    provider: Provider,
    body: ImportRunIn | None = None,
) -> dict[str, Any]:
    """Import ``since``..``until`` (UTC days, inclusive; default: the last 3 days) now."""
    today = request.app.state.clock().astimezone(dt.UTC).date()
    body = body or ImportRunIn()
    end = _day("until", body.until or today.isoformat()) + DAY_S
    start = _day("since", body.since) if body.since else end - RECENT_DAYS * DAY_S
    clock = request.app.state.clock

    def run() -> dict[str, Any]:
        try:
            done = run_import(
                ledger.engine,
                ledger.settings,
                provider,
                start_day=start,
                end_day=end,
                trigger="api",
                clock_us=lambda: to_us(clock()),
            )
        except (RangeError, NoKey) as exc:
            raise HTTPException(422, str(exc)) from None
        except ImportBusy as exc:
            raise HTTPException(409, str(exc)) from None
        except ReportError as exc:
            raise HTTPException(502, str(exc)) from None
        with ledger.engine.begin() as conn:
            row = conn.execute(
                provider_imports.select().where(provider_imports.c.id == done.id)
            ).one()
            answer = run_json(row)
            audit.record(conn, action="import.run", target=f"import:{done.id}", after=answer)
        return answer

    return await run_in_threadpool(run)
