"""Anthropic: ``messages.create`` (plain and ``stream=True``) and ``messages.stream(...)``.

Stream usage: ``message_start`` carries the input and cache counts, each ``message_delta`` the
cumulative output count (``normalize.anthropic_stream_usage`` merges them).
"""

from __future__ import annotations

import inspect
from typing import Any

from llmledger import normalize
from llmledger.capture import state
from llmledger.capture.budgets import BudgetExceeded, scope_of
from llmledger.capture.calls import Call
from llmledger.capture.guard import fault
from llmledger.capture.record import attribution
from llmledger.capture.streams import track
from llmledger.capture.wrap import (
    MARK,
    ClientSettings,
    MethodAdapter,
    result_request_id,
    stream_request_id,
)

PENDING = "_llmledger_pending"


def _stream_usage(parts: tuple[Any, list[Any]]) -> dict[str, Any]:
    return normalize.anthropic(normalize.anthropic_stream_usage(*parts))


class MessagesStream:
    def __init__(self, call: Call) -> None:
        self.call = call
        self.start: Any = None
        self.deltas: list[Any] = []
        self.model: Any = None

    def observe(self, event: Any) -> bool:
        kind = getattr(event, "type", None)
        if kind == "message_start":
            message = getattr(event, "message", None)
            self.model = getattr(message, "model", None)
            self.start = getattr(message, "usage", None)
        elif kind == "message_delta":
            usage = getattr(event, "usage", None)
            if usage is not None:
                self.deltas.append(usage)
        elif kind == "content_block_delta":
            self.call.first_item()
        return False

    def finish(self, error: BaseException | None, *, early: bool) -> None:
        usage = None
        if self.start is not None or self.deltas:
            usage = (_stream_usage, (self.start, self.deltas))
        if error is not None:
            self.call.fail(error, usage, model=self.model)
        else:
            self.call.succeed(usage, model=self.model)


class Messages(MethodAdapter):
    name = "anthropic.messages"
    path = ("messages",)

    def begin(self, kwargs: dict[str, Any]) -> tuple[dict[str, Any], bool, Any]:
        return kwargs, kwargs.get("stream") is True, None

    def done(self, call: Call, result: Any, state: Any) -> None:
        usage = getattr(result, "usage", None)
        call.succeed(
            (normalize.anthropic, usage) if usage is not None else None,
            model=getattr(result, "model", None),
            request_id=result_request_id(result),
        )

    def observer(self, call: Call, state: Any) -> MessagesStream:
        return MessagesStream(call)


class MessagesStreamHelper(Messages):
    """``messages.stream(...)`` returns a manager; the request starts when it is entered."""

    name = "anthropic.messages.stream"
    method = "stream"

    def begin(self, kwargs: dict[str, Any]) -> tuple[dict[str, Any], bool, Any]:
        return kwargs, True, None

    def install(self, original: Any, settings: ClientSettings) -> Any:
        adapter = self

        def stream(*args: Any, **kwargs: Any) -> Any:
            manager = original(*args, **kwargs)
            try:
                manager.__class__ = _manager_class(type(manager))
                # attribution is what was in effect where the stream was asked for
                manager.__dict__[PENDING] = (settings, kwargs, attribution(settings.attrs))
            except Exception as exc:
                fault(adapter.name, exc)
            return manager

        stream.__dict__[MARK] = settings
        stream.__wrapped__ = original  # type: ignore[attr-defined]
        return stream


def _begin(manager: Any) -> Call | None:
    pending = manager.__dict__.pop(PENDING, None)
    if pending is None:
        return None
    settings, kwargs, attrs = pending
    return Call(settings.provider, kwargs.get("model"), settings.attrs, True, attrs)


def _track(call: Call, stream: Any) -> Any:
    try:
        call.request_id = stream_request_id(stream)
        return track(stream, MessagesStream(call))
    except Exception as exc:
        fault("anthropic.messages.stream", exc)
        return stream


def _discard_request(manager: Any) -> None:
    """Close the request coroutine an async manager was made with, never to be awaited now
    (else Python warns that it was never awaited)."""
    for value in vars(manager).values():
        if inspect.iscoroutine(value):
            value.close()


_managers: dict[type, type] = {}


def _manager_class(base: Any) -> type:
    if getattr(base, "_llmledger_tracked", False):
        return base
    cls = _managers.get(base)
    if cls is not None:
        return cls
    if hasattr(base, "__aenter__"):

        async def __aenter__(self: Any) -> Any:
            call = _begin(self)
            budgets = state.budgets()
            if call is not None and budgets is not None:  # refused before the request
                try:
                    await budgets.acheck(scope_of(call.attrs, call.provider, call.model))
                except BudgetExceeded:
                    _discard_request(self)
                    raise
            try:
                stream = await base.__aenter__(self)
            except BaseException as exc:
                if call is not None:
                    call.fail(exc)
                raise
            return stream if call is None else _track(call, stream)

        body: dict[str, Any] = {"__aenter__": __aenter__}
    else:

        def __enter__(self: Any) -> Any:
            call = _begin(self)
            budgets = state.budgets()
            if call is not None and budgets is not None:  # refused before the request
                budgets.check(scope_of(call.attrs, call.provider, call.model))
            try:
                stream = base.__enter__(self)
            except BaseException as exc:
                if call is not None:
                    call.fail(exc)
                raise
            return stream if call is None else _track(call, stream)

        body = {"__enter__": __enter__}
    body.update(_llmledger_tracked=True, __module__=base.__module__, __qualname__=base.__qualname__)
    cls = _managers[base] = type(base.__name__, (base,), body)
    return cls


ADAPTERS = [Messages(), MessagesStreamHelper()]
