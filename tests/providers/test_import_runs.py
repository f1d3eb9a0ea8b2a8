"""Running imports: one node at a time (a lease row, not timing), a run killed halfway that
leaves the previous rows whole, the CLI, the API and the hourly schedule — against the fake
admin API on 127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from llmledger.auth.tokens import create_api_token
from llmledger.cli import main
from llmledger.ledger import Ledger
from llmledger.providers.imports import run_import
from llmledger.providers.lease import LEASE_SECONDS, ImportBusy
from llmledger.providers.schedule import ScheduledImports, import_recent
from tests.providers import fixtures as fx
from tests.providers.fake_reports import OPENAI_KEY, Script, serve
from tests.providers.test_provider_imports import (
    OPENAI_COSTS,
    OPENAI_METRICS,
    OPENAI_USAGE,
    RANGE,
    runs,
    settings_for,
    stored,
    stored_metrics,
)

D0, DAY = fx.D0, fx.DAY
FIRST, LAST = "2026-11-01", "2026-11-03"  # the days of RANGE


def test_two_concurrent_imports_one_proceeds_the_other_is_refused(ledger: Ledger) -> None:
    script = Script(copy.deepcopy(fx.OPENAI), gate="costs")
    with serve(script) as url:
        settings = settings_for(ledger, url)
        outcome: list[Any] = []

        def first() -> None:
            outcome.append(run_import(ledger.engine, settings, "openai", key=OPENAI_KEY, **RANGE))

        thread = threading.Thread(target=first)
        thread.start()
        assert script.arrived.wait(60)  # the first holds the lease, halfway through
        with pytest.raises(ImportBusy, match="another import is running"):
            run_import(ledger.engine, settings, "openai", key=OPENAI_KEY, **RANGE)
        assert [r[:2] for r in runs(ledger)] == [("openai", "running")]
        script.release.set()
        thread.join(60)
        assert outcome and outcome[0].usage_rows == len(OPENAI_USAGE)
        # once done, the lease is free again
        run_import(ledger.engine, settings, "openai", key=OPENAI_KEY, **RANGE)
    assert [r[:2] for r in runs(ledger)] == [("openai", "ok")] * 2
    assert stored(ledger, "openai") == (OPENAI_USAGE, OPENAI_COSTS)


def _env(ledger: Ledger, url: str) -> dict[str, str]:
    settings = ledger.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMLEDGER_")}
    env |= {
        "LLMLEDGER_DATA_DIR": str(settings.data_dir),
        "LLMLEDGER_DATABASE_URL": str(settings.database_url),
        "LLMLEDGER_OPENAI_ADMIN_URL": url,
        "OPENAI_ADMIN_KEY": OPENAI_KEY,
    }
    return env


def test_an_import_killed_halfway_leaves_the_previous_rows_whole(ledger: Ledger) -> None:
    script = Script(copy.deepcopy(fx.OPENAI))
    with serve(script) as url:
        settings = settings_for(ledger, url)
        run_import(ledger.engine, settings, "openai", key=OPENAI_KEY, **RANGE)
        # the provider now reports other figures; a CLI import is killed while it fetches them
        script.buckets["/organization/usage/completions"][0]["results"][0]["output_tokens"] = 1
        script.buckets["/organization/usage/images"][0]["results"][0]["images"] = 30
        script.gate = "costs"
        args = ["import", "openai", "--since", FIRST, "--until", LAST]
        proc = subprocess.Popen(
            [sys.executable, "-m", "llmledger.cli", *args],
            env=_env(ledger, url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert script.arrived.wait(60)
            proc.send_signal(signal.SIGKILL)
            proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert stored(ledger, "openai") == (OPENAI_USAGE, OPENAI_COSTS)
        assert stored_metrics(ledger) == OPENAI_METRICS
        assert [r[1] for r in runs(ledger)] == ["ok", "running"]
        script.gate = None
        # the dead run still holds the lease until it ends; then the next run takes over
        with pytest.raises(ImportBusy):
            run_import(ledger.engine, settings, "openai", key=OPENAI_KEY, **RANGE)
        later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=LEASE_SECONDS + 60)
        clock_us = lambda: int(later.timestamp() * 1_000_000)  # noqa: E731
        run_import(ledger.engine, settings, "openai", key=OPENAI_KEY, clock_us=clock_us, **RANGE)
    states = runs(ledger)
    assert [r[1] for r in states] == ["ok", "failed", "ok"]
    assert "interrupted" in str(states[1][2])
    usage, _ = stored(ledger, "openai")
    assert usage[(D0, "proj_a", "gpt-4o-2024-08-06")][-1] == 1  # the new figures
    assert stored_metrics(ledger)[(D0, "proj_a", "gpt-image-1", "images")] == 31


def test_the_cli_imports_a_range_and_explains_a_refused_key(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = Script(copy.deepcopy(fx.OPENAI))
    with serve(script) as url:
        env = _env(ledger, url)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        args = ["import", "openai", "--since", FIRST, "--until", LAST]
        done = CliRunner().invoke(main, args)
        assert done.exit_code == 0, done.output
        assert "3 days" in done.stdout and f"{len(OPENAI_USAGE)} usage rows" in done.stdout
        assert "pages" in done.stderr  # the progress bar
        assert stored(ledger, "openai") == (OPENAI_USAGE, OPENAI_COSTS)
        again = CliRunner().invoke(main, args)
        assert again.exit_code == 0 and stored(ledger, "openai") == (OPENAI_USAGE, OPENAI_COSTS)
        monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-proj-not-an-admin-key")
        refused = CliRunner().invoke(main, args)
        assert refused.exit_code == 1
        assert "401: this needs an organisation admin key (OPENAI_ADMIN_KEY)" in refused.stderr
        assert "sk-proj-not-an-admin-key" not in refused.output
        bad = CliRunner().invoke(main, ["import", "openai", "--since", "yesterday"])
        assert bad.exit_code == 2 and "--since" in bad.stderr
    assert [r[1] for r in runs(ledger)] == ["ok", "ok", "failed"]


def test_the_api_runs_an_import_and_lists_the_runs(
    ledger: Ledger, client: TestClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    script = Script(copy.deepcopy(fx.OPENAI))
    monkeypatch.delenv("ANTHROPIC_ADMIN_KEY", raising=False)
    monkeypatch.delenv("OPENAI_ADMIN_KEY", raising=False)
    with serve(script) as url:
        client.app.state.ledger.settings = settings_for(ledger, url)  # type: ignore[attr-defined]
        run = "/api/v1/admin/imports/openai/run"
        body = {"since": FIRST, "until": LAST}
        missing = client.post(run, json=body, headers=admin)
        assert missing.status_code == 422 and "OPENAI_ADMIN_KEY" in missing.json()["detail"]
        monkeypatch.setenv("OPENAI_ADMIN_KEY", OPENAI_KEY)
        r = client.post(run, json=body, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "ok" and r.json()["usageRows"] == len(OPENAI_USAGE)
        assert (r.json()["startDate"], r.json()["endDate"], r.json()["trigger"]) == (
            FIRST,
            LAST,
            "api",
        )
        monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-proj-not-admin")
        refused = client.post(run, json=body, headers=admin)
        assert refused.status_code == 502 and "organisation admin key" in refused.text
        bad = client.post(run, json={"since": "2026-11-05", "until": "2026-11-01"}, headers=admin)
        assert bad.status_code == 422
        listed = client.get("/api/v1/admin/imports", headers=admin).json()
    states = [(x["state"], x["trigger"]) for x in listed["runs"]]
    assert states == [("failed", "api"), ("ok", "api")]
    assert [x["metricRows"] for x in listed["runs"]] == [0, len(OPENAI_METRICS)]
    assert "401" in listed["runs"][0]["error"]
    keys = {p["provider"]: p["keyConfigured"] for p in listed["providers"]}
    assert keys["openai"] is True and keys["anthropic"] is False
    assert stored(ledger, "openai") == (OPENAI_USAGE, OPENAI_COSTS)
    with ledger.engine.begin() as conn:
        viewer = create_api_token(conn, role="viewer", name="v", org_id="acme")[1]
    as_viewer = {"Authorization": f"Bearer {viewer}"}
    assert client.post(run, json=body, headers=as_viewer).status_code == 403
    assert client.get("/api/v1/admin/imports", headers=as_viewer).status_code == 403


def test_the_schedule_imports_the_last_three_days_of_configured_providers(
    ledger: Ledger, tmp_path: Path
) -> None:
    script = Script(copy.deepcopy(fx.OPENAI))
    now = dt.datetime.fromtimestamp(D0 + 2 * DAY + 3600, dt.UTC)  # an hour into the third day
    with serve(script) as url:
        settings = settings_for(ledger, url)
        outcome = import_recent(
            ledger.engine, settings, now=now, environ={"OPENAI_ADMIN_KEY": OPENAI_KEY}
        )
        assert outcome == {"openai": "ok"}  # anthropic has no key: not tried
        assert stored(ledger, "openai") == (OPENAI_USAGE, OPENAI_COSTS)
        # the thread the app starts runs a round at once, then waits for the next hour
        scheduled = ScheduledImports(
            ledger.engine,
            settings,
            interval_s=3600,
            clock=lambda: now,
            environ={"OPENAI_ADMIN_KEY": OPENAI_KEY},
        )
        scheduled.start()
        try:
            deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)
            while scheduled.rounds < 1 and dt.datetime.now(dt.UTC) < deadline:
                threading.Event().wait(0.05)
        finally:
            scheduled.stop()
    with ledger.engine.connect() as conn:
        from sqlalchemy import select

        from llmledger.providers.tables import provider_imports as i

        rows = conn.execute(select(i.c.trigger, i.c.start_day, i.c.end_day, i.c.state)).all()
    assert rows == [("schedule", D0, D0 + 3 * DAY, "ok")] * 2
