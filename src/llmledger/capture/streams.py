"""Tracking a provider's stream object without changing what the caller holds.

The stream keeps its identity and type: its class is swapped for a cached subclass that
observes each item on the way to the caller, and records the call once - when the stream is
exhausted, fails, is closed, or is garbage-collected unfinished (abandoned). An observer may
hide an item from the caller (OpenAI's usage-only chunk that llmledger asked for).
"""

from __future__ import annotations

from typing import Any, Protocol

from llmledger.capture.guard import fault

ATTR = "_llmledger_observer"


class Observer(Protocol):
    def observe(self, item: Any) -> bool:
        """Look at one item; True hides it from the caller."""

    def finish(self, error: BaseException | None, *, early: bool) -> None:
        """Record the call (called once; ``early``: closed or abandoned before the end)."""


def _observer(stream: Any) -> Observer | None:
    return stream.__dict__.get(ATTR)


def _end(stream: Any, error: BaseException | None, early: bool) -> None:
    observer = stream.__dict__.pop(ATTR, None)
    if observer is not None:
        try:
            observer.finish(error, early=early)
        except Exception as exc:
            fault("stream.finish", exc)


def _hidden(stream: Any, item: Any) -> bool:
    observer = _observer(stream)
    if observer is None:
        return False
    try:
        return observer.observe(item)
    except Exception as exc:
        fault("stream.observe", exc)
        return False


def _observed(observer: Observer, item: Any) -> bool:
    """True when the observer hides ``item``."""
    try:
        return observer.observe(item)
    except Exception as exc:
        fault("stream.observe", exc)
        return False


def _sync_subclass(base: Any) -> type:
    def __next__(self: Any) -> Any:
        while True:
            try:
                item = base.__next__(self)
            except StopIteration:
                _end(self, None, early=False)
                raise
            except BaseException as exc:
                _end(self, exc, early=False)
                raise
            if not _hidden(self, item):
                return item

    def __iter__(self: Any) -> Any:
        # the hot path: one generator over the base's own, no extra call per item
        observer = self.__dict__.get(ATTR)
        if observer is None:
            yield from base.__iter__(self)
            return
        try:
            for item in base.__iter__(self):
                if not _observed(observer, item):
                    yield item
        except GeneratorExit:
            raise  # the caller stopped early: close() or __del__ records the call
        except BaseException as exc:
            _end(self, exc, early=False)
            raise
        _end(self, None, early=False)

    def close(self: Any) -> Any:
        _end(self, None, early=True)
        return base.close(self)

    def __del__(self: Any) -> None:
        _end(self, None, early=True)

    return type(
        base.__name__,
        (base,),
        {
            "__next__": __next__,
            "__iter__": __iter__,
            "close": close,
            "__del__": __del__,
            "__module__": base.__module__,
            "__qualname__": base.__qualname__,
        },
    )


def _async_subclass(base: Any) -> type:
    async def __anext__(self: Any) -> Any:
        while True:
            try:
                item = await base.__anext__(self)
            except StopAsyncIteration:
                _end(self, None, early=False)
                raise
            except BaseException as exc:
                _end(self, exc, early=False)
                raise
            if not _hidden(self, item):
                return item

    async def __aiter__(self: Any) -> Any:
        observer = self.__dict__.get(ATTR)
        if observer is None:
            async for item in base.__aiter__(self):
                yield item
            return
        try:
            async for item in base.__aiter__(self):
                if not _observed(observer, item):
                    yield item
        except GeneratorExit:
            raise
        except BaseException as exc:
            _end(self, exc, early=False)
            raise
        _end(self, None, early=False)

    async def close(self: Any) -> Any:
        _end(self, None, early=True)
        return await base.close(self)

    def __del__(self: Any) -> None:
        _end(self, None, early=True)

    return type(
        base.__name__,
        (base,),
        {
            "__anext__": __anext__,
            "__aiter__": __aiter__,
            "close": close,
            "__del__": __del__,
            "__module__": base.__module__,
            "__qualname__": base.__qualname__,
        },
    )


_tracked: dict[type, type] = {}


def tracked_class(base: type) -> type:
    if ATTR in base.__dict__ or getattr(base, "_llmledger_tracked", False):
        return base
    cls = _tracked.get(base)
    if cls is None:
        cls = _async_subclass(base) if hasattr(base, "__anext__") else _sync_subclass(base)
        cls._llmledger_tracked = True  # type: ignore[attr-defined]
        _tracked[base] = cls
    return cls


def track(stream: Any, observer: Observer) -> Any:
    """Make ``stream`` report to ``observer``; returns the same object."""
    stream.__class__ = tracked_class(type(stream))
    stream.__dict__[ATTR] = observer
    return stream
