"""``POST /v1/traces``: OTLP/HTTP trace export, each model-call span with GenAI usage an event.

The answers are OTLP's: 200 with an ``ExportTraceServiceResponse`` (its ``partialSuccess``
counts the spans refused and says why, and which were ignored), encoded as the request was
(protobuf or JSON); 400 for a body that cannot be parsed, 413/415 as HTTP has them, and 503
with ``Retry-After`` when the writer is busy or the database refused the write (OTLP exporters
retry 429, 502, 503 and 504, and no other). Error bodies are a ``google.rpc.Status``.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Future

import orjson
from fastapi import APIRouter, HTTPException, Request, Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from llmledger.ingest.otlp.batch import SpanOutcome, prepare_spans, read_spans, warning
from llmledger.ingest.otlp.spans import BodyError, decode_json, decode_protobuf
from llmledger.ingest.writer import WriterClosed, WriterOverloaded
from llmledger.ledger import Ledger
from llmledger.metrics import metrics
from llmledger.server.deps import IngestDep, LedgerDep, RolesFirst
from llmledger.server.ingest.events import read_body
from llmledger.settings import parse_attribute_map
from llmledger.store.write import WriteFailed, WriteResult

router = APIRouter(tags=["ingest"], route_class=RolesFirst)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_PROTOBUF_TYPES = (PROTOBUF, "application/protobuf")
#: ``google.rpc.Code``
_INVALID_ARGUMENT = 3
_UNAVAILABLE = 14


class PartialSuccess(BaseModel):
    rejectedSpans: int = Field(description="Spans with usage that could not be events.")
    errorMessage: str = Field(description="Why, and how many spans were ignored.")


class TraceAnswer(BaseModel):
    """``ExportTraceServiceResponse`` (JSON form); ``partialSuccess`` is absent when every span
    became an event."""

    partialSuccess: PartialSuccess | None = None


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _status(
    code: int, message: str, http: int, protobuf: bool, retry_after: str | None
) -> Response:
    headers = {"Retry-After": retry_after} if retry_after else None
    if protobuf:  # google.rpc.Status: 1 code (varint), 2 message (string)
        text = message.encode()
        body = b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text
        return Response(body, http, headers=headers, media_type=PROTOBUF)
    return Response(
        orjson.dumps({"code": code, "message": message}), http, headers=headers, media_type=JSON
    )


def _answer(outcome: SpanOutcome, protobuf: bool) -> Response:
    rejected = len(outcome.rejected)
    message = warning(outcome)
    if protobuf:
        reply = ExportTraceServiceResponse()
        if message:
            reply.partial_success.rejected_spans = rejected
            reply.partial_success.error_message = message
        return Response(reply.SerializeToString(), 200, media_type=PROTOBUF)
    body: dict[str, object] = {}
    if message:
        body["partialSuccess"] = {"rejectedSpans": rejected, "errorMessage": message}
    return Response(orjson.dumps(body), 200, media_type=JSON)


@router.post(
    "/v1/traces",
    response_model=TraceAnswer,
    responses={
        400: {"description": "the body cannot be parsed as an OTLP trace export"},
        413: {"description": "too large a body, or too many spans"},
        415: {"description": "neither application/x-protobuf nor application/json"},
        503: {"description": "the writer is busy or the database refused; retry after"},
    },
)
async def export_traces(request: Request, ledger: LedgerDep, principal: IngestDep) -> Response:
    """OTLP/HTTP trace export: each model-call span with GenAI usage becomes a priced event;
    a re-sent span is a duplicate (its event id comes from its trace and span ids)."""
    started = time.perf_counter()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    protobuf = ctype in _PROTOBUF_TYPES
    response = await _export(
        request, ledger, principal.org_id if principal.role == "ingest" else None, protobuf, ctype
    )
    metrics().requests.labels("otlp", str(response.status_code)).observe(
        time.perf_counter() - started
    )
    return response


async def _export(
    request: Request, ledger: Ledger, key_org: str | None, protobuf: bool, ctype: str
) -> Response:
    if not protobuf and ctype != JSON:
        return _status(
            _INVALID_ARGUMENT,
            f"unsupported Content-Type {ctype or 'none'!r}: send {PROTOBUF} or {JSON}",
            415,
            protobuf,
            None,
        )
    try:
        body = await read_body(request, ledger.settings.max_body_bytes)
    except HTTPException as exc:
        return _status(_INVALID_ARGUMENT, str(exc.detail), exc.status_code, protobuf, None)
    try:
        fut, outcome = await run_in_threadpool(_prepare_and_submit, ledger, body, key_org, protobuf)
    except BodyError as exc:
        return _status(_INVALID_ARGUMENT, str(exc), 400, protobuf, None)
    except _TooMany as exc:
        return _status(_INVALID_ARGUMENT, str(exc), 413, protobuf, None)
    except WriterOverloaded as exc:
        return _status(_UNAVAILABLE, str(exc), 503, protobuf, "1")
    except (WriterClosed, WriteFailed) as exc:
        return _status(_UNAVAILABLE, f"{exc}; retry", 503, protobuf, "5")
    m = metrics()
    if fut is not None:
        try:
            result = await asyncio.wrap_future(fut)
        except Exception:
            # the writer logged the cause; the transaction rolled back, so nothing was stored
            return _status(
                _UNAVAILABLE,
                "the database refused the write; nothing of this request was stored; retry",
                503,
                protobuf,
                "5",
            )
        m.written(
            "otlp",
            accepted=result.accepted,
            duplicates=result.duplicates,
            rejected=len(outcome.rejected),
        )
    else:
        m.written("otlp", accepted=0, duplicates=0, rejected=len(outcome.rejected))
    if outcome.no_usage:
        m.spans_ignored.labels("no-usage").inc(outcome.no_usage)
    if outcome.not_model_call:
        m.spans_ignored.labels("not-a-model-call").inc(outcome.not_model_call)
    return _answer(outcome, protobuf)


class _TooMany(ValueError):
    pass


def _prepare_and_submit(
    ledger: Ledger, body: bytes, key_org: str | None, protobuf: bool
) -> tuple[Future[WriteResult] | None, SpanOutcome]:
    s = ledger.settings
    spans = decode_protobuf(body) if protobuf else decode_json(body)
    if len(spans) > s.max_batch_events:
        raise _TooMany(f"at most {s.max_batch_events} spans per request; this one has {len(spans)}")
    outcome, charged = read_spans(
        spans, key_org=key_org, attribute_map=parse_attribute_map(s.otlp_attribute_map)
    )
    if not outcome.events:
        return None, outcome
    with ledger.writer.preparing():
        with ledger.writer.turn:
            batch = prepare_spans(
                outcome,
                charged,
                ledger.pricer(),
                key_org=key_org,
                now_us=time.time_ns() // 1000,
                open_from=ledger.writer.open_from(),
            )
        if not batch.rows:
            return None, outcome
        return ledger.writer.submit(batch), outcome
