"""The composition root: one object that owns the engine, the price book and the event writer.

The server, the CLI, the demo and the SDK's direct mode all build a ``Ledger`` from ``Settings``;
nothing is created at import time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from sqlalchemy import Engine

from llmledger.events import UsageEvent
from llmledger.pricing.cost import Pricer
from llmledger.pricing.seed import load_price_book, seed_bundled_prices
from llmledger.settings import Settings
from llmledger.store import migrate
from llmledger.store.engine import make_engine
from llmledger.store.rows import from_us
from llmledger.store.writer import EventWriter, WriteResult


class Ledger:
    def __init__(self, settings: Settings, *, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings)
        self._pricer: Pricer | None = None
        self._pricer_lock = threading.Lock()
        self.writer = EventWriter(self.engine, self.pricer, max_batch=settings.writer_max_batch)

    @classmethod
    def open(cls, settings: Settings, *, upgrade: bool = True) -> Ledger:
        """Open the database, migrating it and seeding the bundled prices when needed."""
        ledger = cls(settings)
        if upgrade:
            ledger.upgrade()
        return ledger

    def upgrade(self) -> None:
        migrate.upgrade(self.engine)
        with self.engine.begin() as conn:
            seed_bundled_prices(
                conn,
                now=from_us(time.time_ns() // 1000),
                fallback_input=self.settings.fallback_input_per_million,
                fallback_output=self.settings.fallback_output_per_million,
            )
        self.reload_prices()

    # -- pricing ---------------------------------------------------------------------------
    def pricer(self) -> Pricer:
        pricer = self._pricer
        if pricer is None:
            with self._pricer_lock:
                if self._pricer is None:
                    self.reload_prices()
                pricer = self._pricer
        assert pricer is not None
        return pricer

    def reload_prices(self) -> None:
        """Rebuild the in-memory price book after prices change."""
        with self.engine.connect() as conn:
            book = load_price_book(conn)
        self._pricer = Pricer(book)

    # -- writing ---------------------------------------------------------------------------
    def write(self, events: Sequence[UsageEvent], *, default_org: str | None = None) -> WriteResult:
        return self.writer.write(events, default_org=default_org)

    def close(self) -> None:
        self.writer.close()
        self.engine.dispose()
