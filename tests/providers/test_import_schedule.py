"""The hourly import belongs to the app: its lifespan starts it beside the alert round (so every
way of running the server has it) and stops it, ending a run in progress at its next page;
``LLMLEDGER_IMPORTS_INTERVAL_SECONDS=0`` turns it off. Against the fake admin API on 127.0.0.1,
on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import datetime as dt
import threading
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from llmledger.ledger import Ledger
from llmledger.providers.tables import provider_import_leases, provider_imports
from llmledger.server.app import create_app
from tests.providers import fixtures as fx
from tests.providers.fake_reports import OPENAI_KEY, Script, serve
from tests.providers.test_provider_imports import OPENAI_COSTS, OPENAI_USAGE, settings_for, stored

NOW = dt.datetime.fromtimestamp(fx.D0 + 2 * fx.DAY + 3600, dt.UTC)  # in the range's third day


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"waited 60 s for {what}"
        time.sleep(0.02)


def _runs(ledger: Ledger) -> list[tuple[str | None, str, str | None]]:
    i = provider_imports.c
    with ledger.engine.connect() as conn:
        q = select(i.trigger, i.state, i.error).order_by(i.id)
        return [(r.trigger, r.state, r.error) for r in conn.execute(q)]


def _app(ledger: Ledger, url: str, interval: float):  # type: ignore[no-untyped-def]
    ledger.settings = settings_for(ledger, url).model_copy(
        update={"imports_interval_seconds": interval}
    )
    return create_app(ledger=ledger, clock=lambda: NOW)


def test_the_app_imports_at_start_and_stops_the_schedule_with_it(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", OPENAI_KEY)
    monkeypatch.delenv("ANTHROPIC_ADMIN_KEY", raising=False)
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    with serve(Script(copy.deepcopy(fx.OPENAI))) as url:
        app = _app(ledger, url, 3600)
        with TestClient(app):
            schedule = app.state.import_schedule
            _wait(lambda: schedule.rounds >= 1, "the first scheduled round")
            assert _runs(ledger) == [("schedule", "ok", None)]
        assert schedule._thread is None  # stopped with the app
    assert stored(ledger, "openai") == (OPENAI_USAGE, OPENAI_COSTS)


def test_stopping_the_app_ends_a_scheduled_run_at_its_next_page(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", OPENAI_KEY)
    script = Script(copy.deepcopy(fx.OPENAI), gate="costs")
    with serve(script) as url:
        app = _app(ledger, url, 3600)
        client = TestClient(app)
        client.__enter__()
        assert script.arrived.wait(60)  # the scheduled run is halfway, in a request
        schedule = app.state.import_schedule
        stopping = threading.Thread(target=client.__exit__, args=(None, None, None))
        stopping.start()
        _wait(schedule._stop.is_set, "the app to ask the schedule to stop")
        script.release.set()  # the request answers; the run stops at that page
        stopping.join(60)
        assert not stopping.is_alive()
    (run,) = _runs(ledger)
    assert run[:2] == ("schedule", "failed") and "stopped" in str(run[2])
    assert stored(ledger, "openai") == ({}, {})  # nothing written
    c = provider_import_leases.c
    with ledger.engine.connect() as conn:
        until = conn.execute(select(c.until_us).where(c.provider == "openai")).scalar()
    assert until == 0  # given back: the next node need not wait for the lease to end


def test_an_interval_of_zero_imports_nothing(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", OPENAI_KEY)
    script = Script(copy.deepcopy(fx.OPENAI))
    with serve(script) as url:
        app = _app(ledger, url, 0)
        with TestClient(app) as client:
            assert app.state.import_schedule._thread is None
            assert client.get("/readyz").status_code == 200
    assert app.state.import_schedule.rounds == 0
    assert script.requests == [] and _runs(ledger) == []
