"""The composition root: one object that owns the engine, the price book and the event writer.

The server, the CLI, the demo and the SDK's direct mode all build a ``Ledger`` from ``Settings``;
nothing is created at import time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from sqlalchemy import Engine, make_url

from llmledger.events import UsageEvent
from llmledger.ingest.writer import EventWriter
from llmledger.ingest.writer_process import WriterProcess
from llmledger.metrics import metrics
from llmledger.pricing.cost import Pricer
from llmledger.pricing.seed import load_price_book, prices_version, seed_bundled_prices
from llmledger.settings import Settings
from llmledger.store import migrate
from llmledger.store.checkpoint import checkpointer_for
from llmledger.store.engine import make_engine, sqlite_file
from llmledger.store.rows import from_us
from llmledger.store.write import WriteResult


class Ledger:
    def __init__(self, settings: Settings, *, engine: Engine | None = None) -> None:
        self.settings = settings
        # Who commits ingest: a writer process, or a thread of this one. When it is this process
        # and the database a SQLite file of our own, the writer's commits leave WAL checkpoints
        # to a thread (see ``store.checkpoint``); a writer process runs its own.
        thread_mode = _writer_mode(settings) == "thread"
        own_engine = engine is None
        self.engine = engine or make_engine(settings)
        self._pricer: Pricer | None = None
        self._pricer_lock = threading.Lock()
        self._prices_version: str | None = None
        self._prices_checked = 0.0
        self._poll_s = settings.prices_poll_seconds
        self.writer = EventWriter(
            self.engine,
            self.pricer,
            max_batch=settings.writer_max_batch,
            remote=WriterProcess(settings, ordered=self.engine.dialect.name == "postgresql")
            if own_engine and not thread_mode
            else None,
            checkpointer=checkpointer_for(self.engine) if own_engine and thread_mode else None,
        )

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
        """The pricer of the prices in force. At most every ``prices_poll_seconds`` it checks
        the prices version in the database and reloads when another process (the CLI, another
        app node) changed prices."""
        pricer = self._pricer
        if pricer is None or time.monotonic() >= self._prices_checked + self._poll_s:
            with self._pricer_lock:
                if self._pricer is None:
                    self.reload_prices()
                elif time.monotonic() >= self._prices_checked + self._poll_s:
                    with self.engine.connect() as conn:
                        version = prices_version(conn)
                    self._prices_checked = time.monotonic()
                    if version != self._prices_version:
                        self.reload_prices()
                pricer = self._pricer
        assert pricer is not None
        return pricer

    def reload_prices(self) -> None:
        """Rebuild the in-memory price book after prices change."""
        with self.engine.connect() as conn:
            # the version first: a change landing between the two reads is then seen as new
            # at the next check, never lost
            version = prices_version(conn)
            book = load_price_book(conn)
        self._pricer = Pricer(book)
        metrics().price_reloads.inc()
        self._prices_version = version
        self._prices_checked = time.monotonic()

    # -- writing ---------------------------------------------------------------------------
    def write(self, events: Sequence[UsageEvent], *, default_org: str | None = None) -> WriteResult:
        return self.writer.write(events, default_org=default_org)

    def close(self) -> None:
        self.writer.close()
        self.engine.dispose()


def _writer_mode(settings: Settings) -> str:
    """Where the server's writer commits: ``process`` or ``thread``. ``auto`` is a process,
    unless the database lives in this process's memory (no other process could open it)."""
    if settings.writer != "auto":
        return settings.writer
    url = make_url(settings.resolved_database_url)
    in_memory = url.get_backend_name() == "sqlite" and sqlite_file(url) is None
    return "thread" if in_memory else "process"
