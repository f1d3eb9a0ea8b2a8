"""Catalog syncs and re-pricing: ``/api/v1/admin/pricing/sync``, ``/sync/preview``,
``/reprice`` (start one, or list the latest) and ``/reprice/{jobId}`` (admins only).

A sync reads LiteLLM's catalog from a URL (default ``LLMLEDGER_LITELLM_URL``), from an installed
litellm's copy, or from the request body itself when ``?source=`` is given (an upload, up to
``LLMLEDGER_MAX_PRICE_FILE_BYTES``: these two routes limit their own bodies).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from llmledger.ledger import Ledger
from llmledger.pricing import jobs
from llmledger.pricing.catalog import price_change
from llmledger.pricing.convert import PriceError, parse_instant
from llmledger.pricing.litellm import DEFAULT_MODES
from llmledger.pricing.reprice import RepriceScope
from llmledger.pricing.sources import SourceError, load, parse
from llmledger.pricing.sync import SyncRefused, run_sync
from llmledger.server.deps import AdminDep, Audit, AuditDep, LedgerDep, RolesFirst
from llmledger.server.pricing.models import PREFIX
from llmledger.server.pricing.schemas import RepriceIn, RepriceJobOut, RepriceJobsOut, SyncIn
from llmledger.store.rows import to_us

router = APIRouter(prefix=PREFIX, tags=["pricing"], route_class=RolesFirst)
#: the routes that read (and limit) their own bodies
OWN_BODY_PATHS = frozenset({f"{PREFIX}/sync", f"{PREFIX}/sync/preview"})

_SYNC_DOC: dict[str, Any] = {
    "requestBody": {
        "content": {
            "application/json": {"schema": SyncIn.model_json_schema()},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
        "description": "A sync request, or (with ?source=) the catalog file itself.",
    }
}


async def _read_body(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"request body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _do_sync(
    ledger: Ledger,
    request: Request,
    audit: Audit,
    body: SyncIn,
    content: bytes | None,
    *,
    dry_run: bool,
) -> dict[str, Any]:
    settings = ledger.settings
    try:
        loaded = load(
            body.source,
            url=body.url,
            content=content,
            installed=body.installed,
            default_url=settings.litellm_url,
            max_bytes=settings.max_price_file_bytes,
        )
        parsed = parse(body.source, loaded, modes=tuple(body.modes or DEFAULT_MODES))
        now = request.app.state.clock()
        with price_change(ledger.engine) as conn:
            answer = run_sync(
                conn,
                body.source,
                loaded,
                parsed,
                now=now,
                dry_run=dry_run,
                force=body.force,
                changed_by=audit.label,
                audit=audit,
            )
    except SourceError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    except SyncRefused as exc:
        raise HTTPException(409, str(exc)) from None
    if not dry_run:
        ledger.reload_prices()
    return answer


async def _sync(
    request: Request,
    ledger: Ledger,
    audit: Audit,
    source: str | None,
    modes: list[str] | None,
    force: bool,
    *,
    dry_run: bool,
) -> dict[str, Any]:
    raw = await _read_body(request, ledger.settings.max_price_file_bytes)
    content: bytes | None = None
    try:
        if source is not None:  # the body is the catalog file
            body = SyncIn.model_validate({"source": source, "modes": modes, "force": force})
            content = raw
        else:
            body = SyncIn.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        lines = [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()]
        raise HTTPException(422, "; ".join(lines)) from None
    return await run_in_threadpool(_do_sync, ledger, request, audit, body, content, dry_run=dry_run)


Source = Annotated[str | None, Query(pattern="^(litellm|genai-prices)$")]
Modes = Annotated[list[str] | None, Query(max_length=20)]


@router.post("/sync", openapi_extra=_SYNC_DOC)
async def post_sync(
    request: Request,
    ledger: LedgerDep,
    _: AdminDep,
    audit: AuditDep,
    source: Source = None,
    mode: Modes = None,
    force: bool = False,
) -> dict[str, Any]:
    """Pull the newest prices: ``{"source": "litellm", "url": ...}`` (or ``"installed":
    true``), ``{"source": "genai-prices"}``, or the catalog file as the body with
    ``?source=litellm``. Lists added, changed, unchanged, skipped and missing models."""
    return await _sync(request, ledger, audit, source, mode, force, dry_run=False)


@router.post("/sync/preview", openapi_extra=_SYNC_DOC)
async def post_sync_preview(
    request: Request,
    ledger: LedgerDep,
    _: AdminDep,
    audit: AuditDep,
    source: Source = None,
    mode: Modes = None,
    force: bool = False,
) -> dict[str, Any]:
    """The same as ``/sync``, without changing anything."""
    return await _sync(request, ledger, audit, source, mode, force, dry_run=True)


def _clock_us(request: Request) -> Callable[[], int]:
    clock = request.app.state.clock
    return lambda: to_us(clock())


@router.post("/reprice", response_model=RepriceJobOut, status_code=202)
def post_reprice(
    body: RepriceIn,
    request: Request,
    response: Response,
    ledger: LedgerDep,
    _: AdminDep,
    audit: AuditDep,
) -> dict[str, Any] | None:
    """Re-price stored events from ``startDate`` to ``endDate`` (inclusive days, or instants)
    with the prices in force at their timestamps; answers a job to poll, or the finished job
    with ``"wait": true``."""
    try:
        start = parse_instant("startDate", body.startDate)
        end = parse_instant("endDate", body.endDate, end=True)
    except PriceError as exc:
        raise HTTPException(422, str(exc)) from None
    if end <= start:
        raise HTTPException(422, "endDate: must be after startDate")
    scope = RepriceScope(to_us(start), to_us(end), body.orgId, body.model, body.provider)
    ledger.reload_prices()
    pricer = ledger.pricer()
    clock_us = _clock_us(request)
    if not body.wait:
        job_id = jobs.start_job(
            ledger.engine,
            pricer,
            scope,
            audit=audit,
            requested_by=audit.label,
            clock_us=clock_us,
        )
    else:
        with ledger.engine.begin() as conn:
            job_id = jobs.create_job(conn, scope, requested_by=audit.label, now_us=clock_us())
        jobs.run_job(ledger.engine, pricer, job_id, scope, audit=audit, clock_us=clock_us)
        response.status_code = 200
    with ledger.engine.connect() as conn:
        return jobs.get_job(conn, job_id)


@router.get("/reprice", response_model=RepriceJobsOut)
def list_reprice(
    ledger: LedgerDep,
    _: AdminDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """The latest re-pricing jobs, newest first, with their progress and outcome."""
    with ledger.engine.connect() as conn:
        return {"jobs": jobs.recent_jobs(conn, limit=limit)}


@router.get("/reprice/{jobId}", response_model=RepriceJobOut)
def get_reprice(
    job_id: Annotated[str, Path(alias="jobId", max_length=36, pattern=r"^[0-9a-f-]+$")],
    ledger: LedgerDep,
    _: AdminDep,
) -> dict[str, Any]:
    """A re-pricing job: its state (running, done, failed), progress and outcome."""
    with ledger.engine.connect() as conn:
        job = jobs.get_job(conn, job_id)
    if job is None:
        raise HTTPException(404, "no such re-pricing job")
    return job
