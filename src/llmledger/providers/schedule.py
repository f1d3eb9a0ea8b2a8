"""The hourly import inside the server (started and stopped by the app's lifespan, beside the
alert round; every ``LLMLEDGER_IMPORTS_INTERVAL_SECONDS``, 0 turns it off): for every provider
whose key is configured (stored by an admin, or ``OPENAI_ADMIN_KEY``, ``ANTHROPIC_ADMIN_KEY``,
``GROQ_API_KEY``), re-fetch the last 3 UTC days (today included), because providers finalise
their figures late. Runs take the provider's lease, so with several nodes on one database one
imports and the others skip. Stopping ends a run in progress at its next page (it fails as
"stopped" and writes nothing) rather than holding the server's shutdown for the whole run."""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Engine

from llmledger.periodic import Periodic
from llmledger.providers.credentials import stored_providers
from llmledger.providers.errors import ReportError
from llmledger.providers.imports import KEY_VARIABLES, PROVIDERS, run_import
from llmledger.providers.lease import ImportBusy
from llmledger.providers.report import DAY_S
from llmledger.settings import Settings

log = logging.getLogger(__name__)
RECENT_DAYS = 3


class ImportStopped(ReportError):
    """The server is stopping: the scheduled run in progress ends at its next page."""


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def import_recent(
    engine: Engine,
    settings: Settings,
    *,
    now: dt.datetime,
    environ: Mapping[str, str] | None = None,
    **seams: Any,
) -> dict[str, str]:
    """One round: each configured provider's last ``RECENT_DAYS`` days imported; what became of
    each (``ok``, ``busy``: another node imports it, or the error). Never raises for one
    provider's failure: the others still run, and the failure is in the run log."""
    env = environ if environ is not None else os.environ
    today = int(now.timestamp()) // DAY_S * DAY_S
    stored = stored_providers(engine)
    outcome: dict[str, str] = {}
    for provider in PROVIDERS:
        key = env.get(KEY_VARIABLES[provider], "").strip()
        if not key and provider not in stored:
            continue
        try:
            run_import(
                engine,
                settings,
                provider,
                start_day=today - (RECENT_DAYS - 1) * DAY_S,
                end_day=today + DAY_S,
                key=None if provider in stored else key,  # a stored key wins
                trigger="schedule",
                **seams,
            )
            outcome[provider] = "ok"
        except ImportBusy:
            outcome[provider] = "busy"
        except ImportStopped:
            raise  # no other provider either: the server is stopping
        except ReportError as exc:
            log.warning("scheduled import failed: %s", exc)
            outcome[provider] = str(exc)
    return outcome


class ScheduledImports(Periodic):
    """A daemon thread running ``import_recent`` at start and then every ``interval_s``
    (default ``settings.imports_interval_seconds``; 0: never), until ``stop``."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        interval_s: float | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        interval = settings.imports_interval_seconds if interval_s is None else interval_s
        super().__init__(name="llmledger-imports", interval=interval)
        self._args = (engine, settings)
        self._clock = clock
        self._environ = environ

    def _halt(self, path: str, number: int) -> None:
        if self.stopping:
            raise ImportStopped("stopped: the server shut down while this import ran")

    def round(self) -> bool:
        try:
            import_recent(*self._args, now=self._clock(), environ=self._environ, on_page=self._halt)
        except ImportStopped:
            return False
        except Exception:  # a database hiccup must not end the schedule
            log.exception("scheduled import round failed")
        return True
