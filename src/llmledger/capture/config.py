"""Capture settings: one frozen object built by ``configure()`` from arguments and environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_URL = "LLMLEDGER_URL"
ENV_API_KEY = "LLMLEDGER_API_KEY"
ENV_SPOOL_DIR = "LLMLEDGER_SPOOL_DIR"


def default_spool_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "llmledger" / "spool"


@dataclass(frozen=True)
class CaptureConfig:
    """How captured events leave the process. Times are seconds."""

    url: str | None = None
    api_key: str | None = None
    #: direct mode: write into this database instead of POSTing to a server
    database_url: str | None = None
    spool_dir: Path = field(default_factory=default_spool_dir)
    batch_size: int = 500
    max_age: float = 1.0
    queue_size: int = 20_000
    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    #: how often a spooled batch is retried while the collector stays down
    spool_retry_interval: float = 5.0
    spool_max_bytes: int = 64 * 1024 * 1024
    timeout: float = 10.0
    exit_timeout: float = 5.0
    enabled: bool = True
    #: refuse calls over a blocking budget (``BudgetExceeded``) before the provider is called
    enforce_budgets: bool = False
    #: refuse calls (``BudgetUnavailable``) when the budget state cannot be read
    fail_closed: bool = False
    #: how long a scope's budget state is used before it is refreshed (in the background)
    budget_cache_seconds: float = 5.0
    #: the longest a scope's first call waits for its budget state
    budget_timeout: float = 2.0
    #: attribution applied to every event (lowest precedence)
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def endpoint(self) -> str | None:
        return None if not self.url else self.url.rstrip("/") + "/api/v1/events"


def from_env(**overrides: Any) -> CaptureConfig:
    """A config from explicit arguments, falling back to ``LLMLEDGER_*`` environment variables."""
    values = {k: v for k, v in overrides.items() if v is not None}
    values.setdefault("url", os.environ.get(ENV_URL) or None)
    values.setdefault("api_key", os.environ.get(ENV_API_KEY) or None)
    spool = values.get("spool_dir") or os.environ.get(ENV_SPOOL_DIR)
    if spool:
        values["spool_dir"] = Path(spool)
    return CaptureConfig(**values)
