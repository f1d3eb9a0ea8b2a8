"""The process-wide capture state: ``configure()``, ``emit()``, ``flush()``.

``emit`` is the one door every captured event goes through; before ``configure()`` it configures
from the environment once, and with no destination it drops events with one warning.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from llmledger.capture.budgets import Budgets, DirectSource, HttpSource
from llmledger.capture.config import CaptureConfig, from_env
from llmledger.capture.context import to_wire
from llmledger.capture.exporter import Exporter
from llmledger.capture.guard import fault
from llmledger.capture.transport import HttpSender, Sender

log = logging.getLogger("llmledger")

_lock = threading.Lock()
_exporter: Exporter | None = None
_config: CaptureConfig | None = None
_defaults: dict[str, Any] = {}
#: the budget checks of ``enforce_budgets=True`` (None: calls are not checked)
_budgets: Budgets | None = None
_warned_unconfigured = False


def configure(
    url: str | None = None,
    api_key: str | None = None,
    *,
    database_url: str | None = None,
    enabled: bool = True,
    attribution: dict[str, Any] | None = None,
    **options: Any,
) -> CaptureConfig:
    """Where captured events go: ``url`` (+ ``api_key``) of a server, or ``database_url`` for
    direct mode (never taken from the environment, where the server's own
    ``LLMLEDGER_DATABASE_URL`` may live). Unset arguments fall back to ``LLMLEDGER_URL``,
    ``LLMLEDGER_API_KEY``, ``LLMLEDGER_SPOOL_DIR``. ``options`` are ``CaptureConfig``
    fields (``batch_size``, ``max_age``, ``spool_dir``, ``spool_max_bytes``...;
    ``enforce_budgets``, ``fail_closed``, ``budget_cache_seconds``, ``budget_timeout``: the
    budget checks of ``capture.budgets``);
    ``attribution`` applies to every event. Batches an earlier process left in the spool start
    going out at once, in the background. Calling it again flushes the queue and replaces the
    exporter (the new one takes over the spool)."""
    global _exporter, _config, _defaults, _budgets
    config = from_env(
        url=url, api_key=api_key, database_url=database_url, enabled=enabled, **options
    )
    defaults = to_wire(attribution or {})
    sender = _sender_for(config)
    with _lock:
        old, old_budgets = _exporter, _budgets
        _exporter = Exporter(config, sender) if sender is not None and config.enabled else None
        _budgets = _budgets_for(config)
        _config, _defaults = config, defaults
        new = _exporter
    if old is not None:
        old.close(spool=False)
    if old_budgets is not None:
        old_budgets.close()
    if new is not None:
        try:
            new.deliver_spooled()
        except Exception as exc:  # an unreadable spool must not stop the caller
            fault("configure", exc)
    return config


def ensure_configured() -> None:
    """Configure from the environment unless ``configure()`` was called (``wrap()`` does this,
    so a process that only wraps a client sends an earlier process's spool too)."""
    if _config is None:
        configure()


def _sender_for(config: CaptureConfig) -> Sender | None:
    if config.database_url:
        from llmledger.capture.direct import DirectSender

        return DirectSender(config.database_url)
    if config.endpoint:
        return HttpSender(config.endpoint, config.api_key, config.timeout)
    return None


def _budgets_for(config: CaptureConfig) -> Budgets | None:
    if not (config.enforce_budgets and config.enabled):
        return None
    source: HttpSource | DirectSource | None = None
    if config.database_url:
        source = DirectSource(config.database_url)
    elif config.url:
        source = HttpSource(config.url, config.api_key, config.budget_timeout)
    return Budgets(source, interval=config.budget_cache_seconds, fail_closed=config.fail_closed)


def budgets() -> Budgets | None:
    """The budget checks in force (``enforce_budgets=True``), or None."""
    return _budgets


def defaults() -> dict[str, Any]:
    return _defaults


def emit(event: dict[str, Any]) -> None:
    """Queue one event for export (the hot path: no I/O, no locks when configured)."""
    exporter = _exporter
    if exporter is None:
        exporter = _auto()
        if exporter is None:
            return
    exporter.submit(event)


def _auto() -> Exporter | None:
    global _warned_unconfigured
    if _config is None:
        configure()
    if _exporter is None and not _warned_unconfigured and (_config is None or _config.enabled):
        _warned_unconfigured = True
        log.warning(
            "llmledger: no destination configured (LLMLEDGER_URL or database_url); "
            "usage events are dropped"
        )
    return _exporter


def flush(timeout: float | None = 10.0) -> bool:
    """Deliver every queued and spooled event: True when all went out; False (and a warning
    saying how many events are spooled) when the collector did not take them all, or on
    timeout."""
    exporter = _exporter
    return True if exporter is None else exporter.flush(timeout)


def shutdown(timeout: float | None = None) -> None:
    """Flush and stop the exporter (also runs at interpreter exit); forget the configuration."""
    global _exporter, _config, _budgets
    with _lock:
        old, _exporter, _config = _exporter, None, None
        old_budgets, _budgets = _budgets, None
    if old is not None:
        old.close(timeout)
    if old_budgets is not None:
        old_budgets.close()


def exporter() -> Exporter | None:
    return _exporter
