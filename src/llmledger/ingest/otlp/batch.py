"""A request's spans as one prepared batch for the writer, and what became of each span.

The events go through the pipeline of ``POST /api/v1/events`` unchanged: the fast path
(``prepare_wire``, after msgspec checks every field as its decoder would) when every event is
plainly valid, else the contract (``prepare_parsed``), which words what is wrong with each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from llmledger.ingest.otlp.mapping import SpanRejected, event_of, has_usage, operation_of
from llmledger.ingest.otlp.spans import Span
from llmledger.ingest.prepare import prepare_parsed, prepare_wire
from llmledger.pricing.cost import Pricer
from llmledger.store.write import Prepared
from llmledger.wire import decode_batch

#: at most this many rejected spans are described in an answer (the count is always exact)
MAX_DESCRIBED = 10


@dataclass(slots=True)
class SpanOutcome:
    """What a request's spans came to, before the write: events, spans ignored, spans refused."""

    spans: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    no_usage: int = 0
    not_model_call: int = 0
    rejected: list[str] = field(default_factory=list)

    @property
    def ignored(self) -> int:
        return self.no_usage + self.not_model_call


def _where(span: Span) -> str:
    return f"span {span.span_id or '?'} of trace {span.trace_id or '?'}"


def read_spans(
    spans: Sequence[Span], *, key_org: str | None, attribute_map: Mapping[str, str]
) -> tuple[SpanOutcome, list[Span]]:
    """The events of the charged spans (see ``mapping``), and the span of each event."""
    outcome = SpanOutcome(spans=len(spans))
    candidates: list[tuple[Span, bool | None]] = []
    for span in spans:
        if span.problem is None and not has_usage(span.attributes):
            outcome.no_usage += 1
            continue
        _, model_call = operation_of(span.attributes)
        if model_call is False:
            outcome.not_model_call += 1
            continue
        candidates.append((span, model_call))
    # a span that names no operation is a sum of its children when one of them is charged
    parents = {s.span_id: s.parent_span_id for s in spans if s.span_id}
    above_charged: set[str] = set()
    for span, _ in candidates:
        up = parents.get(span.span_id, "")
        while up and up not in above_charged:
            above_charged.add(up)
            up = parents.get(up, "")
    charged: list[Span] = []
    for span, model_call in candidates:
        if model_call is None and span.span_id in above_charged:
            outcome.not_model_call += 1
            continue
        try:
            outcome.events.append(event_of(span, key_org=key_org, attribute_map=attribute_map))
        except SpanRejected as exc:
            outcome.rejected.append(f"{_where(span)}: {exc}")
            continue
        charged.append(span)
    return outcome, charged


#: the events as the JSON body of POST /api/v1/events, for its fast decoder
_ENCODER = msgspec.json.Encoder()


def prepare_spans(
    outcome: SpanOutcome,
    charged: Sequence[Span],
    pricer: Pricer,
    *,
    key_org: str | None,
    now_us: int,
    open_from: int,
) -> Prepared:
    """The batch of ``outcome.events``; events the contract refuses join ``outcome.rejected``."""
    events = outcome.events
    # the fast path's own decoder checks every field (a NUL, a bad value: None), which is
    # quicker than converting the dicts; anything it refuses goes to the contract
    wire = decode_batch(_ENCODER.encode({"events": events}), max_events=len(events))
    if wire is not None:
        fast = prepare_wire(wire, pricer, key_org=key_org, now_us=now_us, open_from=open_from)
        if fast is not None:
            return fast
    prepared, refused = prepare_parsed(
        events, pricer, key_org=key_org, now_us=now_us, open_from=open_from
    )
    for r in sorted(refused, key=lambda r: r["index"]):
        outcome.rejected.append(f"{_where(charged[r['index']])}: {'; '.join(r['errors'])}")
    return prepared


def warning(outcome: SpanOutcome) -> str:
    """The ``errorMessage`` of the partial-success answer ('' when there is nothing to say)."""
    parts = []
    if outcome.rejected:
        shown = outcome.rejected[:MAX_DESCRIBED]
        more = len(outcome.rejected) - len(shown)
        parts.append(
            f"{len(outcome.rejected)} span(s) rejected: "
            + "; ".join(shown)
            + (f"; and {more} more" if more else "")
        )
    if outcome.no_usage:
        parts.append(f"{outcome.no_usage} span(s) without GenAI usage ignored")
    if outcome.not_model_call:
        parts.append(
            f"{outcome.not_model_call} span(s) with usage ignored as not a model call "
            "(agent, workflow or tool spans sum their model calls)"
        )
    return ". ".join(parts)
