"""One tracked provider call: its clock, its attribution, and the event it turns into.

Attribution is taken when the call starts (a stream may be read elsewhere, later). The event is
a plain dict; ids and timestamps are formatted on the exporter's thread (``batching``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from llmledger.capture import state
from llmledger.capture.context import merge
from llmledger.capture.record import attribution

#: a provider usage object and the normaliser that reads it - run on the exporter's thread
Usage = tuple[Callable[[Any], dict[str, Any]], Any]


class Call:
    __slots__ = ("attrs", "done", "first", "model", "provider", "request_id", "stream", "t0", "ts")

    def __init__(
        self,
        provider: str,
        model: Any,
        client_attrs: dict[str, Any],
        stream: bool,
        attrs: dict[str, Any] | None = None,
    ) -> None:
        self.ts = time.time()
        self.t0 = time.perf_counter()
        self.provider = provider
        self.model = model if isinstance(model, str) and model else None
        self.attrs = attribution(client_attrs) if attrs is None else attrs
        self.stream = stream
        self.first: float | None = None
        self.done = False
        self.request_id: Any = None

    def first_item(self) -> None:
        if self.first is None:
            self.first = time.perf_counter()

    def succeed(
        self,
        usage: Usage | None,
        *,
        model: Any = None,
        request_id: Any = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._emit(usage, model=model, request_id=request_id, metadata=metadata)

    def fail(
        self,
        exc: BaseException,
        usage: Usage | None = None,
        *,
        model: Any = None,
        request_id: Any = None,
    ) -> None:
        status = getattr(exc, "status_code", None)
        request_id = request_id or getattr(exc, "request_id", None)
        self._emit(
            usage,
            model=model,
            request_id=request_id,
            success=False,
            error_type=type(exc).__name__,
            status=status if isinstance(status, int) and 100 <= status <= 599 else None,
        )

    def _emit(
        self,
        usage: Usage | None,
        *,
        model: Any,
        request_id: Any,
        metadata: dict[str, Any] | None = None,
        success: bool = True,
        error_type: str | None = None,
        status: int | None = None,
    ) -> None:
        if self.done:
            return
        self.done = True
        end = time.perf_counter()
        event: dict[str, Any] = {
            "timestamp": self.ts,
            "provider": self.provider,
            "model": (model if isinstance(model, str) and model else None)
            or self.model
            or "unknown",
        }
        event.update(self.attrs)
        if usage is None:
            event["inputTokens"] = event["outputTokens"] = 0
            # only a success without usage is suspicious; a failed call usually bills nothing
            if success:
                metadata = {**(metadata or {}), "usageMissing": True}
        else:
            event["_usage"] = usage
        if metadata:
            event.update(merge(self.attrs, {"metadata": metadata}))
        event["latencyMs"] = int((end - self.t0) * 1000)
        if self.first is not None:
            event["timeToFirstTokenMs"] = int((self.first - self.t0) * 1000)
        event["success"] = success
        event["stream"] = self.stream
        request_id = request_id or self.request_id
        if isinstance(request_id, str) and request_id:
            event["requestId"] = request_id[:256]
        if error_type is not None:
            event["errorType"] = error_type
        if status is not None:
            event["statusCode"] = status
        state.emit(event)
