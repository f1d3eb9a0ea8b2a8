"""``POST /api/v1/events``: validate, price and write a batch; answer after commit."""

from __future__ import annotations

import asyncio
import time
import zlib
from concurrent.futures import Future
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from llmledger.auth.tokens import Principal
from llmledger.ingest.prepare import prepare_parsed, prepare_wire
from llmledger.ingest.writer import WriterClosed, WriterOverloaded
from llmledger.ledger import Ledger
from llmledger.metrics import metrics
from llmledger.server.deps import IngestDep, LedgerDep, RolesFirst
from llmledger.store.write import Prepared, WriteFailed, WriteResult
from llmledger.wire import NotJSON, decode_batch, decode_plain

router = APIRouter(tags=["ingest"], route_class=RolesFirst)


class Rejection(BaseModel):
    index: int
    errors: list[str]


class IngestAnswer(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[Rejection]


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes (after gunzip)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"request body is larger than the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"request body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").lower()
    if encoding == "gzip":
        body = _gunzip(body, limit)
    elif encoding != "identity":
        raise HTTPException(415, f"unsupported Content-Encoding {encoding!r}; use gzip or none")
    return body


def _gunzip(body: bytes, limit: int) -> bytes:
    """One whole gzip member and nothing after it: a truncated stream, trailing bytes or a
    second member are refused rather than read in part."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise HTTPException(400, f"body is not valid gzip: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise HTTPException(413, f"request body is larger than the limit of {limit} bytes")
    if not inflater.eof:
        raise HTTPException(400, "body is not valid gzip: the stream ends before its end marker")
    if inflater.unused_data:
        raise HTTPException(
            400,
            f"body is not valid gzip: {len(inflater.unused_data)} bytes follow the compressed "
            "stream (send one gzip member and nothing after it)",
        )
    return out


def _events_of(body: bytes, max_events: int) -> list[Any]:
    if not body:
        raise HTTPException(400, 'empty body: send {"events": [...]}')
    try:
        payload = decode_plain(body)
    except NotJSON as exc:
        raise HTTPException(400, f"body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise HTTPException(422, 'body must be a JSON object of the form {"events": [...]}')
    extra = sorted(set(payload) - {"events"})
    if extra:
        raise HTTPException(422, f"unknown field(s) in body: {', '.join(extra)}")
    events = payload.get("events")
    if not isinstance(events, list):
        raise HTTPException(422, '"events" must be an array of event objects')
    if len(events) > max_events:
        raise HTTPException(
            413, f"at most {max_events} events per request; this one has {len(events)}"
        )
    return events


@router.post(
    "/api/v1/events",
    response_model=IngestAnswer,
    responses={
        400: {"description": "body is not JSON"},
        413: {"description": "too many events or too large a body"},
        422: {"description": "body has the wrong shape"},
        503: {"description": "the writer is busy; retry"},
    },
)
async def ingest_events(request: Request, ledger: LedgerDep, principal: IngestDep) -> IngestAnswer:
    """Record a batch of usage events. Good events are kept even when others are rejected;
    re-sending an event with the same ``eventId`` changes nothing (it counts as a duplicate)."""
    started = time.perf_counter()
    status = 500
    try:
        answer = await _ingest(request, ledger, principal)
        status = 200
        return answer
    except HTTPException as exc:
        status = exc.status_code
        raise
    finally:
        metrics().requests.labels("http", str(status)).observe(time.perf_counter() - started)


async def _ingest(request: Request, ledger: Ledger, principal: Principal) -> IngestAnswer:
    s = ledger.settings
    body = await read_body(request, s.max_body_bytes)
    key_org = principal.org_id if principal.role == "ingest" else None
    try:
        fut, rejected = await run_in_threadpool(_prepare_and_submit, ledger, body, key_org)
    except WriterOverloaded as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "1"}) from None
    except WriterClosed as exc:  # the server is shutting down
        raise HTTPException(503, str(exc), headers={"Retry-After": "5"}) from None
    except WriteFailed as exc:  # the database could not be read before the write
        raise HTTPException(503, f"{exc}; retry", headers={"Retry-After": "5"}) from None
    try:
        result = await asyncio.wrap_future(fut)
    except Exception:
        # the writer logged the cause; the transaction rolled back, so nothing was stored
        raise HTTPException(
            503,
            "the database refused the write; nothing of this batch was stored; retry",
            headers={"Retry-After": "5"},
        ) from None
    metrics().written(
        "http", accepted=result.accepted, duplicates=result.duplicates, rejected=len(rejected)
    )
    return IngestAnswer(
        accepted=result.accepted,
        duplicates=result.duplicates,
        rejected=[Rejection(**r) for r in sorted(rejected, key=lambda r: r["index"])],
    )


def _prepare_and_submit(
    ledger: Ledger, body: bytes, key_org: str | None
) -> tuple[Future[WriteResult], list[dict[str, Any]]]:
    """Prepare the batch and hand it to the writer: its commit, and the rejected events."""
    with ledger.writer.preparing():
        batch, rejected = _prepare(ledger, body, key_org)
        return ledger.writer.submit(batch), rejected


def _prepare(
    ledger: Ledger, body: bytes, key_org: str | None
) -> tuple[Prepared, list[dict[str, Any]]]:
    """Priced rows and deltas for the batch, and the rejected events. The fast path takes
    batches that are wholly valid; anything else is judged event by event by the contract."""
    s = ledger.settings
    with ledger.writer.turn:
        now_us = time.time_ns() // 1000
        open_from = ledger.writer.open_from()
        wire = decode_batch(body, max_events=s.max_batch_events)
        if wire is not None:
            fast = prepare_wire(
                wire, ledger.pricer(), key_org=key_org, now_us=now_us, open_from=open_from
            )
            if fast is not None:
                return fast, []
        raws = _events_of(body, s.max_batch_events)
        return prepare_parsed(
            raws, ledger.pricer(), key_org=key_org, now_us=now_us, open_from=open_from
        )
