"""Budget enforcement: with ``configure(enforce_budgets=True)`` a tracked call over a blocking
budget is refused before the provider sees it.

The exceptions (both exported from ``llmledger``)::

    BudgetExceeded          a blocking rule (``action: "block"``) covering the call is CRITICAL;
     |                      it carries that rule's id, name, value, threshold and period
     +-- BudgetUnavailable  ``fail_closed=True`` and the budget state could not be read

The state of a scope (organisation, agent, user, provider, model of the call) comes from
``GET /api/v1/budget-status`` (or, in direct mode, from the database) and is kept for
``budget_cache_seconds``. Only the first call of a scope waits for it (at most
``budget_timeout``); a later call reads the cache, and one that finds it older than the
interval asks a background thread to refresh it and goes on with what it found, so the
caller's thread never waits on the network again. When the state cannot be read the call goes
ahead (fail open) unless ``fail_closed=True``; that outcome is cached like an answer, so a
collector that is down costs one wait per scope, not one per call.
"""

from __future__ import annotations

import queue
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from llmledger.capture.guard import fault, log

#: (orgId, agent, userId, provider, model) of a call; None where the call does not say
Scope = tuple[str | None, str | None, str | None, str | None, str | None]
SCOPE_PARAMS = ("orgId", "agent", "userId", "provider", "model")
#: scopes remembered at most (the oldest is forgotten first)
MAX_SCOPES = 10_000


class BudgetExceeded(Exception):
    """A blocking budget rule covering this call is CRITICAL: the provider was not called.

    ``rule_id``, ``rule_name``, ``alert_type``, ``value`` and ``threshold`` (in ``unit``:
    ``usd`` or ``percent``), ``percent_used``, ``period`` (its key, e.g. ``2026-12-07``),
    ``period_start``/``period_end`` (RFC 3339) and ``timezone`` are the first such rule's;
    ``rules`` holds every CRITICAL blocking rule as the server answered, ``scope`` the call's
    scope as asked."""

    def __init__(self, rules: list[dict[str, Any]], scope: dict[str, str | None]) -> None:
        first = rules[0] if rules else {}
        period = first.get("period") or {}
        self.rules = rules
        self.scope = scope
        self.rule_id: int | None = first.get("ruleId")
        self.rule_name: str | None = first.get("ruleName")
        self.alert_type: str | None = first.get("alertType")
        self.value: float | None = first.get("value")
        self.threshold: float | None = first.get("threshold")
        self.unit: str | None = first.get("unit")
        self.percent_used: float | None = first.get("percentUsed")
        self.period: str | None = period.get("key")
        self.period_start: str | None = period.get("start")
        self.period_end: str | None = period.get("end")
        self.timezone: str | None = period.get("timezone")
        text = first.get("message") or f"budget rule {self.rule_name!r} is over its threshold"
        super().__init__(f"llmledger: call refused: {text}")

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across processes, with its fields
        return (type(self), (self.rules, self.scope))


class BudgetUnavailable(BudgetExceeded):
    """``fail_closed=True`` and the budget state could not be read (``reason``): the provider
    was not called."""

    def __init__(self, reason: str, scope: dict[str, str | None]) -> None:
        super().__init__([], scope)
        self.reason = reason
        Exception.__init__(self, f"llmledger: call refused: budget state unavailable ({reason})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.reason, self.scope))


@dataclass(frozen=True, slots=True)
class Verdict:
    """A scope's budget state: the CRITICAL blocking rules, or why it could not be read."""

    rules: tuple[dict[str, Any], ...] = ()
    error: str | None = None

    @property
    def blocked(self) -> bool:
        return bool(self.rules)


Source = Callable[[Scope], Verdict]


def scope_of(attrs: dict[str, Any], provider: str | None, model: str | None) -> Scope:
    """The scope of a call from its attribution (wire names), provider and requested model."""
    return (attrs.get("orgId"), attrs.get("agent"), attrs.get("userId"), provider, model)


def scope_json(scope: Scope) -> dict[str, str | None]:
    return dict(zip(SCOPE_PARAMS, scope, strict=True))


class HttpSource:
    """Asks the server: ``GET /api/v1/budget-status`` with the SDK's key."""

    def __init__(self, url: str, api_key: str | None, timeout: float) -> None:
        self.endpoint = url.rstrip("/") + "/api/v1/budget-status"
        self.timeout = timeout
        self.headers = {"Accept": "application/json", "User-Agent": "llmledger-sdk"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"

    def __call__(self, scope: Scope) -> Verdict:
        params = {k: v for k, v in zip(SCOPE_PARAMS, scope, strict=True) if v is not None}
        url = self.endpoint + ("?" + urllib.parse.urlencode(params) if params else "")
        request = urllib.request.Request(url, headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = orjson.loads(response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                detail = exc.read()[:200].decode("utf-8", "replace")
            return Verdict(error=f"HTTP {exc.code}: {detail}")
        except (OSError, ValueError) as exc:  # refused, reset, timeout, DNS, not JSON
            return Verdict(error=f"{type(exc).__name__}: {exc}")
        return _verdict(answer)


class DirectSource:
    """Direct mode: the same answer as the server's, read from the database itself."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._ledger: Any = None
        self._lock = threading.Lock()

    def _open(self) -> Any:
        with self._lock:
            if self._ledger is None:
                from llmledger.ledger import Ledger
                from llmledger.settings import Settings

                self._ledger = Ledger.open(Settings(database_url=self.database_url))
            return self._ledger

    def __call__(self, scope: Scope) -> Verdict:
        import datetime as dt

        from llmledger.alerts.check import raw_from
        from llmledger.alerts.status import budget_status

        org, agent, user, provider, model = scope
        call = {"org_id": org, "agent": agent, "user_id": user, "model": model}
        call["provider"] = provider.lower() if provider else None
        try:
            ledger = self._open()
            now = dt.datetime.now(dt.UTC)
            with ledger.engine.connect() as conn:
                answer = budget_status(
                    conn, call, now=now, raw_from_us=raw_from(now, ledger.settings.retention_days)
                )
        except Exception as exc:  # the database away or locked: as a collector that is down
            return Verdict(error=f"{type(exc).__name__}: {exc}")
        return _verdict(answer)

    def close(self) -> None:
        with self._lock:
            if self._ledger is not None:
                self._ledger.close()
                self._ledger = None


def _verdict(answer: Any) -> Verdict:
    if not isinstance(answer, dict) or not isinstance(answer.get("rules"), list):
        return Verdict(error="the budget status answer is not understood")
    rules = [r for r in answer["rules"] if isinstance(r, dict)]
    if answer.get("blocked") and not rules:
        rules = [{"message": "a blocking budget rule is over its threshold"}]
    return Verdict(tuple(rules) if answer.get("blocked") else ())


@dataclass(frozen=True, slots=True)
class Entry:
    verdict: Verdict
    at: float  # the clock's reading when it was read


@dataclass
class Budgets:
    """The cache of budget states in front of a ``Source``, and its refresher thread.

    ``clock`` (monotonic seconds) is injectable so tests age the cache without sleeping."""

    source: Source | None
    interval: float = 5.0
    fail_closed: bool = False
    clock: Callable[[], float] = time.monotonic
    #: the cold-path wait for another caller's first read of the same scope
    wait: float = 30.0
    _cache: dict[Scope, Entry] = field(default_factory=dict)
    _pending: dict[Scope, threading.Event] = field(default_factory=dict)
    _refreshing: set[Scope] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _queue: queue.SimpleQueue[Scope | None] = field(default_factory=queue.SimpleQueue)
    _thread: threading.Thread | None = None
    _warned: bool = False
    #: reads made, cold and background (tests wait on it)
    reads: int = 0

    # -- the caller's side ------------------------------------------------------------------

    def check(self, scope: Scope) -> None:
        """Raise ``BudgetExceeded`` if the call may not go ahead; waits on the network only for
        a scope's first call."""
        try:
            entry = self._cache.get(scope)
            verdict = self._warm(scope, entry) if entry is not None else self._first(scope)
        except Exception as exc:  # a fault of ours: the call goes ahead
            fault("budgets", exc)
            return
        self._judge(scope, verdict)

    async def acheck(self, scope: Scope) -> None:
        """``check`` for async callers: a scope's first read runs in a worker thread."""
        try:
            entry = self._cache.get(scope)
            if entry is not None:
                verdict = self._warm(scope, entry)
            else:
                import asyncio

                loop = asyncio.get_running_loop()
                verdict = await loop.run_in_executor(None, self._first, scope)
        except Exception as exc:
            fault("budgets", exc)
            return
        self._judge(scope, verdict)

    def state_of(self, scope: Scope) -> Verdict | None:
        """What is known of ``scope`` now (None: nothing yet), without reading or refreshing."""
        entry = self._cache.get(scope)
        return None if entry is None else entry.verdict

    def _warm(self, scope: Scope, entry: Entry) -> Verdict:
        if self.clock() - entry.at >= self.interval:
            self._refresh(scope)
        return entry.verdict

    def _judge(self, scope: Scope, verdict: Verdict) -> None:
        if verdict.error is not None:
            if self.fail_closed:
                raise BudgetUnavailable(verdict.error, scope_json(scope))
            if not self._warned:
                self._warned = True
                log.warning(
                    "llmledger: budget state unavailable (%s); calls go ahead unchecked "
                    "until it can be read (fail_closed=False)",
                    verdict.error,
                )
            return
        if verdict.rules:
            raise BudgetExceeded(list(verdict.rules), scope_json(scope))

    # -- reading ------------------------------------------------------------------------------

    def _read(self, scope: Scope) -> Verdict:
        self.reads += 1
        if self.source is None:
            return Verdict(error="no collector configured (LLMLEDGER_URL or database_url)")
        verdict = self.source(scope)
        if verdict.error is None and self._warned:
            self._warned = False
            log.warning("llmledger: budget state readable again; calls are checked")
        return verdict

    def _store(self, scope: Scope, verdict: Verdict) -> None:
        if scope not in self._cache and len(self._cache) >= MAX_SCOPES:
            self._cache.pop(next(iter(self._cache)), None)
        self._cache[scope] = Entry(verdict, self.clock())

    def _first(self, scope: Scope) -> Verdict:
        """The cold path: read the scope (one reader per scope; the others wait for it)."""
        with self._lock:
            entry = self._cache.get(scope)
            if entry is not None:
                return entry.verdict
            pending = self._pending.get(scope)
            if pending is None:
                mine = self._pending[scope] = threading.Event()
        if pending is not None:
            pending.wait(self.wait)
            entry = self._cache.get(scope)
            return entry.verdict if entry is not None else Verdict(error="budget read timed out")
        try:
            verdict = self._read(scope)
            self._store(scope, verdict)
            return verdict
        finally:
            with self._lock:
                self._pending.pop(scope, None)
            mine.set()

    def _refresh(self, scope: Scope) -> None:
        with self._lock:
            if scope in self._refreshing:
                return
            self._refreshing.add(scope)
            thread = self._thread
            if thread is None or not thread.is_alive():  # first use, or after a fork
                thread = self._thread = threading.Thread(
                    target=self._refresher, name="llmledger-budgets", daemon=True
                )
                thread.start()
        self._queue.put(scope)

    def _refresher(self) -> None:
        while True:
            scope = self._queue.get()
            if scope is None:
                return
            try:
                self._store(scope, self._read(scope))
            except Exception as exc:  # keep the last state; try again at the next stale read
                fault("budgets.refresh", exc)
            finally:
                with self._lock:
                    self._refreshing.discard(scope)

    def close(self) -> None:
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(5)
        close = getattr(self.source, "close", None)
        if close is not None:
            close()
