"""Attribution: who and what a call is for, carried by a context variable.

``attribute(...)`` nests (inner values win, ``metadata`` dicts merge), follows asyncio tasks (they
copy the context), and works as a context manager or as a decorator of sync and async
functions. Threads do not inherit context variables: ``bind(fn)`` carries the current
attribution into a function that another thread will run.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

#: keyword (snake_case) -> wire name (camelCase)
FIELDS = {
    "org_id": "orgId",
    "user_id": "userId",
    "agent": "agent",
    "session_id": "sessionId",
    "agent_session_id": "agentSessionId",
    "agent_execution_id": "agentExecutionId",
    "agent_plan_id": "agentPlanId",
    "operation": "operation",
    "tier": "tier",
    "metadata": "metadata",
}

_EMPTY: dict[str, Any] = {}
_current: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar(
    "llmledger_attribution", default=_EMPTY
)

F = TypeVar("F", bound=Callable[..., Any])


def to_wire(values: dict[str, Any]) -> dict[str, Any]:
    """Attribution keywords as wire fields; unknown names are a ``TypeError`` (typos fail loud)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        wire = FIELDS.get(key)
        if wire is None:
            raise TypeError(f"unknown attribution field {key!r}; expected one of {list(FIELDS)}")
        if value is not None:
            out[wire] = dict(value) if wire == "metadata" else str(value)
    return out


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``; ``metadata`` objects merge key by key."""
    if not base:
        return extra
    if not extra:
        return base
    out = {**base, **extra}
    if "metadata" in base and "metadata" in extra:
        out["metadata"] = {**base["metadata"], **extra["metadata"]}
    return out


def current() -> dict[str, Any]:
    """The attribution in effect here (wire names)."""
    return _current.get()


class attribute:  # lower case: used like a function, ``with llmledger.attribute(...)``
    """Attribute the LLM calls made inside to an org, user, session, operation... ."""

    def __init__(self, **fields: Any) -> None:
        self.values = to_wire(fields)
        self._tokens: list[contextvars.Token[dict[str, Any]]] = []

    def __enter__(self) -> attribute:
        self._tokens.append(_current.set(merge(_current.get(), self.values)))
        return self

    def __exit__(self, *exc: object) -> None:
        _current.reset(self._tokens.pop())

    async def __aenter__(self) -> attribute:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__()

    def __call__(self, fn: F) -> F:
        values = self.values
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                token = _current.set(merge(_current.get(), values))
                try:
                    return await fn(*args, **kwargs)
                finally:
                    _current.reset(token)

            return run_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            token = _current.set(merge(_current.get(), values))
            try:
                return fn(*args, **kwargs)
            finally:
                _current.reset(token)

        return run  # type: ignore[return-value]


def bind(fn: F) -> F:
    """``fn`` running under the attribution in effect now (for threads and executors)."""
    captured = _current.get()

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        token = _current.set(captured)
        try:
            return fn(*args, **kwargs)
        finally:
            _current.reset(token)

    return run  # type: ignore[return-value]
