"""OTLP/HTTP trace bodies (protobuf or JSON) as plain ``Span`` records.

Both encodings come out the same: ids in lower-case hex, attributes as a ``dict`` of plain
Python values (string, bool, int, float, list, dict), times in Unix nanoseconds. A body that is
not an ``ExportTraceServiceRequest`` at all is a ``BodyError`` (HTTP 400); a span whose own
fields are broken (an id of the wrong length, a time that is not a number) is kept with its
``problem`` set, so the request's other spans are still read.

OTLP/JSON differs from protobuf's canonical JSON mapping: trace and span ids are hex, not
base64, and 64-bit integers may come as strings or numbers. So JSON is walked by hand rather
than through ``google.protobuf.json_format``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

#: ``Status.code`` of a failed span (``STATUS_CODE_ERROR``)
STATUS_ERROR = 2
_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}


class BodyError(ValueError):
    """The body is not an OTLP trace export request (the whole request is refused: 400)."""


@dataclass(slots=True)
class Span:
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    resource: dict[str, Any]
    scope: str
    status_code: int = 0
    status_message: str = ""
    #: why this span cannot be read (``None``: it can)
    problem: str | None = None


# -- protobuf ------------------------------------------------------------------------------


def _any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def _pb_attributes(attributes: Any) -> dict[str, Any]:
    # the hot loop of a protobuf body: scalars inline, without a call per attribute
    out: dict[str, Any] = {}
    for kv in attributes:
        value = kv.value
        kind = value.WhichOneof("value")
        if kind == "string_value":
            out[kv.key] = value.string_value
        elif kind == "int_value":
            out[kv.key] = value.int_value
        elif kind in ("double_value", "bool_value"):
            out[kv.key] = getattr(value, kind)
        else:
            out[kv.key] = _any_value(value)
    return out


def _id_hex(raw: bytes, size: int, what: str, *, optional: bool = False) -> tuple[str, str | None]:
    if len(raw) == size:
        return raw.hex(), None
    if optional and not raw:
        return "", None
    return raw.hex(), f"{what} must be {size} bytes, not {len(raw)}"


def decode_protobuf(body: bytes) -> list[Span]:
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise BodyError(f"body is not a protobuf ExportTraceServiceRequest: {exc}") from None
    spans: list[Span] = []
    for rs in request.resource_spans:
        resource = _pb_attributes(rs.resource.attributes)
        for ss in rs.scope_spans:
            scope = ss.scope.name
            for s in ss.spans:
                trace_id, bad_trace = _id_hex(s.trace_id, 16, "traceId")
                span_id, bad_span = _id_hex(s.span_id, 8, "spanId")
                parent, bad_parent = _id_hex(s.parent_span_id, 8, "parentSpanId", optional=True)
                spans.append(
                    Span(
                        trace_id,
                        span_id,
                        parent,
                        s.name,
                        s.start_time_unix_nano,
                        s.end_time_unix_nano,
                        _pb_attributes(s.attributes),
                        resource,
                        scope,
                        s.status.code,
                        s.status.message,
                        bad_trace or bad_span or bad_parent,
                    )
                )
    return spans


# -- JSON ----------------------------------------------------------------------------------


def _field(obj: dict[str, Any], camel: str, snake: str) -> Any:
    # OTLP/JSON uses lowerCamelCase; receivers are asked to accept the proto names as well
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _list(obj: dict[str, Any], camel: str, snake: str, where: str) -> list[Any]:
    value = _field(obj, camel, snake)
    if value is None:
        return []
    if not isinstance(value, list):
        raise BodyError(f"{where}.{camel} must be an array")
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BodyError(f"{where} must be an object")
    return value


def _json_value(value: Any) -> Any:
    if not isinstance(value, dict):
        raise ValueError("an attribute value must be an AnyValue object")
    for key, item in value.items():
        if key in ("stringValue", "string_value", "boolValue", "bool_value"):
            return item
        if key in ("intValue", "int_value"):
            if isinstance(item, bool) or not isinstance(item, int | str):
                raise ValueError(f"intValue {item!r} is not an integer")
            return int(item)
        if key in ("doubleValue", "double_value"):
            if isinstance(item, bool) or not isinstance(item, int | float | str):
                raise ValueError(f"doubleValue {item!r} is not a number")
            return float(item)
        if key in ("arrayValue", "array_value"):
            return [_json_value(v) for v in _object(item, "arrayValue").get("values", [])]
        if key in ("kvlistValue", "kvlist_value"):
            return _json_attributes(_object(item, "kvlistValue").get("values", []))
        if key in ("bytesValue", "bytes_value"):
            return str(item)
    return None


def _json_attributes(items: Any) -> dict[str, Any]:
    if not isinstance(items, list):
        raise ValueError("attributes must be an array of {key, value}")
    out: dict[str, Any] = {}
    for kv in items:
        if not isinstance(kv, dict) or not isinstance(kv.get("key"), str):
            raise ValueError("an attribute must be an object with a string key")
        out[kv["key"]] = _json_value(kv.get("value", {}))
    return out


def _json_id(value: Any, size: int, what: str, *, optional: bool = False) -> tuple[str, str | None]:
    text = value if isinstance(value, str) else ""
    if optional and not text:
        return "", None
    if len(text) == 2 * size:
        try:
            bytes.fromhex(text)
        except ValueError:
            pass
        else:
            return text.lower(), None
    return text[:64], f"{what} must be {2 * size} hex digits"


def _nanos(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{what} must be an integer (Unix nanoseconds)")
    try:
        nanos = int(value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not an integer") from None
    if not 0 <= nanos < 2**64:
        raise ValueError(f"{what} is out of range")
    return nanos


def _json_span(raw: Any, resource: dict[str, Any], scope: str) -> Span:
    if not isinstance(raw, dict):
        return Span("", "", "", "", 0, 0, {}, resource, scope, problem="a span must be an object")
    trace_id, bad_trace = _json_id(_field(raw, "traceId", "trace_id"), 16, "traceId")
    span_id, bad_span = _json_id(_field(raw, "spanId", "span_id"), 8, "spanId")
    parent, bad_parent = _json_id(
        _field(raw, "parentSpanId", "parent_span_id"), 8, "parentSpanId", optional=True
    )
    name = raw.get("name")
    span = Span(
        trace_id,
        span_id,
        parent,
        name if isinstance(name, str) else "",
        0,
        0,
        {},
        resource,
        scope,
        problem=bad_trace or bad_span or bad_parent,
    )
    try:
        start = _field(raw, "startTimeUnixNano", "start_time_unix_nano") or 0
        span.start_ns = _nanos(start, "startTimeUnixNano")
        span.end_ns = _nanos(
            _field(raw, "endTimeUnixNano", "end_time_unix_nano") or 0, "endTimeUnixNano"
        )
    except ValueError as exc:
        span.problem = span.problem or str(exc)
    try:
        span.attributes = _json_attributes(raw.get("attributes", []))
    except ValueError as exc:
        span.problem = span.problem or str(exc)
    status = raw.get("status") or {}
    code = status.get("code", 0) if isinstance(status, dict) else 0
    if isinstance(code, str):
        span.status_code = _STATUS_NAMES.get(code, 0)
    elif isinstance(code, int) and not isinstance(code, bool):
        span.status_code = code
    message = status.get("message", "") if isinstance(status, dict) else ""
    span.status_message = message if isinstance(message, str) else ""
    return span


def decode_json(body: bytes) -> list[Span]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BodyError(f"body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise BodyError("body must be a JSON object (an ExportTraceServiceRequest)")
    spans: list[Span] = []
    for i, rs in enumerate(_list(payload, "resourceSpans", "resource_spans", "body")):
        where = f"resourceSpans[{i}]"
        rs = _object(rs, where)
        try:
            resource = _json_attributes(_object(rs.get("resource"), where).get("attributes", []))
        except ValueError as exc:
            raise BodyError(f"{where}.resource: {exc}") from None
        for j, ss in enumerate(_list(rs, "scopeSpans", "scope_spans", where)):
            ss = _object(ss, f"{where}.scopeSpans[{j}]")
            scope_name = _object(ss.get("scope"), "scope").get("name", "")
            scope = scope_name if isinstance(scope_name, str) else ""
            for raw in _list(ss, "spans", "spans", f"{where}.scopeSpans[{j}]"):
                spans.append(_json_span(raw, resource, scope))
    return spans
