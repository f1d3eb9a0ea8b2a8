"""The import lease over a run longer than the lease: the run renews it while it fetches, so no
other node takes it; a run whose lease was taken all the same fails "lease lost" and writes
nothing. The clock is injected (each page moves it on), against the fake admin API on
127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import select

from llmledger.ledger import Ledger
from llmledger.providers import lease
from llmledger.providers.imports import run_import
from llmledger.providers.tables import provider_import_leases
from tests.providers import fixtures as fx
from tests.providers.fake_reports import OPENAI_KEY, Script, serve
from tests.providers.test_provider_imports import (
    OPENAI_COSTS,
    OPENAI_USAGE,
    RANGE,
    runs,
    settings_for,
    stored,
)

US = 1_000_000
T0 = (fx.D0 + 5 * fx.DAY) * US
#: each page of a report takes this long on the injected clock: a run of several pages
#: outlasts the lease many times over
PAGE_US = 20 * 60 * US


class Clock:
    def __init__(self) -> None:
        self.now_us = T0

    def __call__(self) -> int:
        return self.now_us


def _holder(ledger: Ledger) -> str | None:
    c = provider_import_leases.c
    with ledger.engine.connect() as conn:
        holder = conn.execute(select(c.holder).where(c.provider == "openai")).scalar()
    return holder


def test_a_run_longer_than_the_lease_renews_it_and_no_other_node_takes_it(
    ledger: Ledger,
) -> None:
    clock = Clock()
    refused: list[str] = []

    def on_page(path: str, number: int) -> None:
        clock.now_us += PAGE_US
        # another node tries at every page, at the same instant as the run
        other = lease.take(ledger.engine, "openai", "node-b", clock.now_us)
        assert other is not None, f"node-b took the lease {clock.now_us - T0} us into the run"
        refused.append(path)

    with serve(Script(copy.deepcopy(fx.OPENAI))) as url:
        done = run_import(
            ledger.engine,
            settings_for(ledger, url),
            "openai",
            key=OPENAI_KEY,
            clock_us=clock,
            on_page=on_page,
            **RANGE,
        )
    assert clock.now_us - T0 > 2 * lease.LEASE_SECONDS * US  # the run outlasted the lease
    assert len(refused) >= 4
    assert done.usage_rows == len(OPENAI_USAGE)
    assert stored(ledger, "openai") == (OPENAI_USAGE, OPENAI_COSTS)
    assert [r[1] for r in runs(ledger)] == ["ok"]
    # given back when done: the next run takes it at once
    assert lease.take(ledger.engine, "openai", "node-b", clock.now_us) is None


@pytest.mark.parametrize("renewing", [True, False], ids=["while-fetching", "at-the-write"])
def test_a_run_that_lost_its_lease_fails_and_writes_nothing(ledger: Ledger, renewing: bool) -> None:
    """Another node takes the lease halfway (the run stalled past its end). A run whose clock
    moves notices at its next renewal; one whose clock does not renews only in its final write,
    and notices there. Either way the previous rows stay whole."""
    script = Script(copy.deepcopy(fx.OPENAI))
    clock = Clock()
    with serve(script) as url:
        settings = settings_for(ledger, url)
        run_import(ledger.engine, settings, "openai", key=OPENAI_KEY, clock_us=clock, **RANGE)
        script.buckets["/organization/usage/completions"][0]["results"][0]["output_tokens"] = 1
        script.requests.clear()
        taken: list[str] = []

        def on_page(path: str, number: int) -> None:
            if renewing:
                clock.now_us += PAGE_US
            if not taken and "costs" in path:
                # node-b, with the run's lease long over on its clock, takes it
                later = clock.now_us + 2 * lease.LEASE_SECONDS * US
                assert lease.take(ledger.engine, "openai", "node-b", later) is None
                taken.append(path)

        with pytest.raises(lease.LeaseLost, match="lease lost"):
            run_import(
                ledger.engine,
                settings,
                "openai",
                key=OPENAI_KEY,
                clock_us=clock,
                on_page=on_page,
                **RANGE,
            )
    assert taken
    assert stored(ledger, "openai") == (OPENAI_USAGE, OPENAI_COSTS)  # nothing written
    states = runs(ledger)
    assert [r[1] for r in states] == ["ok", "failed"]
    assert "lease lost" in str(states[1][2])
    assert _holder(ledger) == "node-b"  # the loser did not give back what it no longer held
    if renewing:  # it stopped at the first page after the takeover, not at the end
        costs_pages = [q for q, _ in script.requests if q.endswith("/organization/costs")]
        assert len(costs_pages) == 1


def test_a_renewal_by_a_holder_that_lost_the_lease_is_refused(ledger: Ledger) -> None:
    assert lease.take(ledger.engine, "openai", "node-a", T0) is None
    lease.renew(ledger.engine, "openai", "node-a", T0 + 20 * 60 * US)  # still its own
    late = T0 + 20 * 60 * US + lease.LEASE_SECONDS * US - 1
    assert lease.take(ledger.engine, "openai", "node-b", late) is not None  # renewed: held
    assert lease.take(ledger.engine, "openai", "node-b", late + 1) is None  # over: taken
    with pytest.raises(lease.LeaseLost):
        lease.renew(ledger.engine, "openai", "node-a", late + 2)
    assert _holder(ledger) == "node-b"
