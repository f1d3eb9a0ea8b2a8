"""The generic engine: put a tracking function in front of a client's resource methods.

``wrap`` stores, on each resource instance (``client.chat.completions``...), a function that
calls the original bound method; the SDK's classes are not touched, the client keeps its type
and identity, and ``unwrap`` removes the functions again. Wrapping twice only updates the
attribution. What is specific to an API lives in one short adapter module per provider.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from llmledger.capture import state
from llmledger.capture.budgets import scope_of
from llmledger.capture.calls import Call
from llmledger.capture.context import to_wire
from llmledger.capture.guard import fault
from llmledger.capture.providers import provider_of
from llmledger.capture.state import budgets as budget_checks
from llmledger.capture.streams import Observer, track

MARK = "_llmledger_settings"

C = TypeVar("C")


@dataclass
class ClientSettings:
    provider: str
    attrs: dict[str, Any] = field(default_factory=dict)


class Adapter(Protocol):
    name: str
    path: tuple[str, ...]
    method: str

    def begin(self, kwargs: dict[str, Any]) -> tuple[dict[str, Any], bool, Any]:
        """(kwargs to send, is this a stream, state for ``done``/``observer``)."""

    def done(self, call: Call, result: Any, state: Any) -> None:
        """Record a complete (non-stream) result."""

    def observer(self, call: Call, state: Any) -> Observer:
        """Watch a stream's items and record it at its end."""

    def install(self, original: Any, settings: ClientSettings) -> Any:
        """The function that replaces ``original`` on the resource."""


class MethodAdapter:
    """Base for adapters of plain request methods (``create``)."""

    name = "adapter"
    path: tuple[str, ...] = ()
    method = "create"

    def install(self, original: Any, settings: ClientSettings) -> Any:
        return tracking_method(original, self, settings)  # type: ignore[arg-type]


def start(adapter: Adapter, settings: ClientSettings, kwargs: dict[str, Any]) -> Any:
    sent, streaming, state = adapter.begin(kwargs)
    call = Call(settings.provider, kwargs.get("model"), settings.attrs, streaming)
    return call, sent, streaming, state


def settle(adapter: Adapter, call: Call, result: Any, streaming: bool, state: Any) -> Any:
    """Record or start tracking ``result``; never changes what the caller receives."""
    try:
        if streaming:
            call.request_id = stream_request_id(result)
            return track(result, adapter.observer(call, state))
        adapter.done(call, result, state)
    except Exception as exc:
        fault(adapter.name, exc)
    return result


def result_request_id(result: Any) -> Any:
    """The SDKs' ``_request_id`` on a response model, read without ``getattr``: a miss would go
    through pydantic's slow ``__getattr__``."""
    private = getattr(result, "__pydantic_private__", None)
    if private and "_request_id" in private:
        return private["_request_id"]
    return getattr(result, "__dict__", {}).get("_request_id")


def stream_request_id(stream: Any) -> Any:
    headers = getattr(getattr(stream, "response", None), "headers", None)
    if headers is None:
        return None
    return headers.get("x-request-id") or headers.get("request-id")


def safe_fail(adapter: Adapter, call: Call, exc: BaseException) -> None:
    try:
        call.fail(exc)
    except Exception as inner:
        fault(adapter.name, inner)


def tracking_method(original: Any, adapter: Adapter, settings: ClientSettings) -> Any:
    owner = type(getattr(original, "__self__", None)).__name__
    if inspect.iscoroutinefunction(original) or owner.startswith("Async"):

        @functools.wraps(original)
        async def tracked_async(*args: Any, **kwargs: Any) -> Any:
            try:
                call, sent, streaming, state = start(adapter, settings, kwargs)
            except Exception as exc:
                fault(adapter.name, exc)
                return await original(*args, **kwargs)
            budgets = budget_checks()
            if budgets is not None:  # BudgetExceeded: the provider is not called
                await budgets.acheck(scope_of(call.attrs, call.provider, call.model))
            try:
                result = await original(*args, **sent)
            except BaseException as exc:
                safe_fail(adapter, call, exc)
                raise
            return settle(adapter, call, result, streaming, state)

        tracked_async.__dict__[MARK] = settings
        return tracked_async

    @functools.wraps(original)
    def tracked(*args: Any, **kwargs: Any) -> Any:
        try:
            call, sent, streaming, state = start(adapter, settings, kwargs)
        except Exception as exc:
            fault(adapter.name, exc)
            return original(*args, **kwargs)
        budgets = budget_checks()
        if budgets is not None:  # BudgetExceeded: the provider is not called
            budgets.check(scope_of(call.attrs, call.provider, call.model))
        try:
            result = original(*args, **sent)
        except BaseException as exc:
            safe_fail(adapter, call, exc)
            raise
        return settle(adapter, call, result, streaming, state)

    tracked.__dict__[MARK] = settings
    return tracked


def _resource(client: Any, path: tuple[str, ...]) -> Any:
    obj = client
    for name in path:
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return obj


def _adapters(client: Any) -> tuple[str, list[Any]]:
    module = type(client).__module__.split(".")[0]
    if module == "openai":
        from llmledger.capture import openai_adapters

        return "openai", openai_adapters.ADAPTERS
    if module == "anthropic":
        from llmledger.capture import anthropic_adapters

        return "anthropic", anthropic_adapters.ADAPTERS
    raise TypeError(f"llmledger.wrap: unsupported client {type(client).__qualname__}")


def wrap(client: C, agent: str | None = None, provider: str | None = None, **attribution: Any) -> C:
    """Track every call ``client`` makes; returns the same client object."""
    family, adapters = _adapters(client)
    attrs = to_wire({"agent": agent, **attribution})
    try:
        state.ensure_configured()
        settings = ClientSettings(provider or provider_of(client, family), attrs)
        for adapter in adapters:
            resource = _resource(client, adapter.path)
            if resource is None:
                continue
            current = resource.__dict__.get(adapter.method)
            if current is not None and MARK in getattr(current, "__dict__", {}):
                current.__dict__[MARK].provider = settings.provider
                current.__dict__[MARK].attrs = settings.attrs
                continue
            original = getattr(resource, adapter.method)
            resource.__dict__[adapter.method] = adapter.install(original, settings)
    except Exception as exc:
        fault("wrap", exc)
    return client


def unwrap(client: C) -> C:
    """Stop tracking ``client``; returns it."""
    try:
        _, adapters = _adapters(client)
    except TypeError:
        return client
    for adapter in adapters:
        resource = _resource(client, adapter.path)
        if resource is None:
            continue
        current = resource.__dict__.get(adapter.method)
        if current is not None and MARK in getattr(current, "__dict__", {}):
            del resource.__dict__[adapter.method]
    return client
