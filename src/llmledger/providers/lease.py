"""One import of a provider at a time, across every node sharing the database: an import first
takes the provider's row of ``provider_import_leases`` with one conditional write (free, or
held past its end), and gives it back when done. A holder that died keeps it only until the
lease ends; the next import then takes it and marks the dead holder's run ``failed``.

A run renews its lease while it fetches (``renew``, every ``RENEW_SECONDS`` of the run's clock),
so a run longer than the lease keeps it; and its final write first renews it in the same
transaction (``hold``), so a run whose lease another node took writes nothing: it fails with
"lease lost"."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from llmledger.providers.errors import ReportError
from llmledger.providers.tables import provider_import_leases, provider_imports
from llmledger.store.engine import begin_immediate

#: how long a lease lasts: far longer than any import takes (90 days import in seconds)
LEASE_SECONDS = 30 * 60
US = 1_000_000
#: how often a run renews its lease while it fetches (a write per page would be wasted)
RENEW_SECONDS = LEASE_SECONDS // 6


class ImportBusy(ReportError):
    """Another import of the same provider holds the lease."""


class LeaseLost(ReportError):
    """The run's lease was taken by another import while it ran: it must write nothing."""


def new_holder() -> str:
    """Who is importing: host, process and a random part (two runs of one process differ)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class Held:
    holder: str
    until_us: int


def take(
    engine: Engine, provider: str, holder: str, now_us: int, *, seconds: int = LEASE_SECONDS
) -> Held | None:
    """Take ``provider``'s lease for ``holder``; ``None`` when taken, else who holds it."""
    c = provider_import_leases.c
    until = now_us + seconds * US
    with engine.connect() as conn:
        begin_immediate(conn)
        with conn.begin():
            stale = conn.execute(
                select(c.run_id).where(c.provider == provider, c.until_us <= now_us)
            ).first()
            taken = conn.execute(
                update(provider_import_leases)
                .where(c.provider == provider, c.until_us <= now_us)
                .values(holder=holder, until_us=until, run_id=None)
            ).rowcount
            if taken == 1:
                if stale is not None and stale.run_id is not None:
                    _interrupted(conn, int(stale.run_id), now_us)
                return None
            held = conn.execute(select(c.holder, c.until_us).where(c.provider == provider)).first()
            if held is not None:
                return Held(held.holder, int(held.until_us))
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(provider_import_leases).values(
                            provider=provider, holder=holder, until_us=until
                        )
                    )
            except IntegrityError:  # another node inserted it first
                return Held("another node", until)
            return None


def _interrupted(conn: Connection, run_id: int, now_us: int) -> None:
    i = provider_imports.c
    conn.execute(
        update(provider_imports)
        .where(i.id == run_id, i.state == "running")
        .values(
            state="failed",
            error="interrupted: the import stopped before it finished; its rows were not changed",
            finished_us=now_us,
        )
    )


def attach(engine: Engine, provider: str, holder: str, run_id: int) -> None:
    """Note the run the lease is for (so that a successor can mark it, were it to die)."""
    c = provider_import_leases.c
    with engine.begin() as conn:
        conn.execute(
            update(provider_import_leases)
            .where(c.provider == provider, c.holder == holder)
            .values(run_id=run_id)
        )


def hold(
    conn: Connection, provider: str, holder: str, now_us: int, *, seconds: int = LEASE_SECONDS
) -> None:
    """Extend ``holder``'s lease from ``now_us``, inside the caller's transaction; raises
    ``LeaseLost`` when another holder has it. On PostgreSQL the row stays locked until the
    transaction ends, so no other node takes the lease before it commits; SQLite has one
    writer at a time."""
    c = provider_import_leases.c
    kept = conn.execute(
        update(provider_import_leases)
        .where(c.provider == provider, c.holder == holder)
        .values(until_us=now_us + seconds * US)
    ).rowcount
    if kept != 1:
        raise LeaseLost(
            f"{provider}: lease lost: another import took over while this one ran (it "
            "stalled past the end of its lease); nothing was written"
        )


def renew(
    engine: Engine, provider: str, holder: str, now_us: int, *, seconds: int = LEASE_SECONDS
) -> None:
    """``hold`` in a transaction of its own (while a run fetches)."""
    with engine.begin() as conn:
        hold(conn, provider, holder, now_us, seconds=seconds)


class Renewer:
    """Renews a run's lease when ``RENEW_SECONDS`` of ``clock_us`` have passed since it last
    did: called after each page a run fetches."""

    def __init__(
        self, engine: Engine, provider: str, holder: str, clock_us: Callable[[], int]
    ) -> None:
        self._args = (engine, provider, holder)
        self._clock_us = clock_us
        self._last_us = clock_us()

    def __call__(self) -> None:
        now = self._clock_us()
        if now - self._last_us >= RENEW_SECONDS * US:
            renew(*self._args, now)
            self._last_us = now


def give_back(engine: Engine, provider: str, holder: str) -> None:
    c = provider_import_leases.c
    with engine.begin() as conn:
        conn.execute(
            update(provider_import_leases)
            .where(c.provider == provider, c.holder == holder)
            .values(until_us=0, run_id=None)
        )
