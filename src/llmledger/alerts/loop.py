"""The alert round inside ``llmledger serve``: evaluate, fire, deliver, every
``LLMLEDGER_ALERTS_INTERVAL_SECONDS``, in a background thread.

``alert_round`` is one round (``llmledger alerts check`` runs it once): every active rule is
evaluated at ``now`` and fired if it crossed (``alerts.check``), then the outbox rows due are
delivered (``alerts.sender``). ``AlertLoop`` repeats it. A round that fails is logged and the
next one runs as usual: a bad rule, an unreachable database or a bug never stops the loop, nor
the server. Any number of nodes may run the loop on one database: the firings' unique key and
the deliveries' leases decide who does what, not timing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from llmledger.alerts.check import check
from llmledger.alerts.evaluate import Evaluation
from llmledger.alerts.sender import deliver_due
from llmledger.periodic import Periodic
from llmledger.settings import Settings
from llmledger.store.rows import to_us

__all__ = ["AlertLoop", "RoundReport", "alert_round"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RoundReport:
    evaluations: list[Evaluation]
    #: the ids of the firings this round wrote (not those another node wrote)
    fired: list[int]
    #: deliveries sent successfully in this round
    sent: int


def alert_round(
    engine: Engine, settings: Settings, *, now: dt.datetime, deliver_limit: int = 100
) -> RoundReport:
    """Evaluate and fire every active rule at ``now``, then deliver the outbox rows due."""
    result = check(
        engine,
        now=now,
        retention_days=settings.retention_days,
        drift_percent=settings.reconciliation_drift_percent,
    )
    sent = deliver_due(engine, settings, now_us=to_us(now), limit=deliver_limit)
    return RoundReport(result.evaluations, result.fired, sent)


class AlertLoop(Periodic):
    """Runs ``alert_round`` at start and then every ``settings.alerts_interval_seconds``, in a
    daemon thread, until ``stop``. ``clock`` is the server's (tests inject their own)."""

    def __init__(
        self, engine: Engine, settings: Settings, *, clock: Callable[[], dt.datetime]
    ) -> None:
        super().__init__(name="llmledger-alerts", interval=settings.alerts_interval_seconds)
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.failures = 0

    def run_once(self) -> RoundReport | None:
        """One round; ``None`` when it failed (logged)."""
        try:
            report = alert_round(self.engine, self.settings, now=self.clock())
        except Exception:
            self.failures += 1
            log.exception("the alert round failed; the next one runs in %g s", self.interval)
            return None
        if report.fired or report.sent:
            log.info(
                "alert round: %d rules, %d fired, %d messages sent",
                len(report.evaluations),
                len(report.fired),
                report.sent,
            )
        return report

    def round(self) -> bool:
        self.run_once()
        return True
