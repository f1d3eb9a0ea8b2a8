"""A mistake on the command line: one line naming the flag, exit code 2, and nothing changed.
In process, against a fresh SQLite data directory."""

from __future__ import annotations

import datetime as dt
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from llmledger.auth.tables import users
from llmledger.cli import main
from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from llmledger.pricing.tables import reprice_jobs
from llmledger.settings import Settings
from llmledger.store import tables as t


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for var in ("LLMLEDGER_DATABASE_URL", "LLMLEDGER_RETENTION_DAYS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LLMLEDGER_DATA_DIR", str(tmp_path / "data"))
    return Settings()


def invoke(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)


def refused(*args: str, stdin: str | None = None) -> str:
    """The one line a refused command prints (on stderr), after checking it is one."""
    result = invoke(*args, stdin=stdin)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert not result.stdout
    return lines[0]


def refused_serving(*args: str) -> str:
    """As ``refused``, in a process of its own: a ``serve`` that is not refused serves (it once
    listened on another port than it printed) and is stopped after a minute."""
    llmledger = str(Path(sys.executable).with_name("llmledger"))
    try:
        done = subprocess.run([llmledger, *args], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"llmledger {shlex.join(args)} was not refused: it served")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    return lines[0]


def count(settings: Settings, table) -> int:  # type: ignore[no-untyped-def]
    led = Ledger.open(settings)
    try:
        with led.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        led.close()


USERS_CREATE = ("users", "create", "--email", "a@example.com", "--role")


@pytest.mark.parametrize(
    ("args", "flags"),
    [
        (["tokens", "create", "--admin", "--org", "acme"], ["--admin", "--org"]),
        (["tokens", "create", "--admin", "--viewer", "--org", "acme"], ["--admin", "--viewer"]),
        (["tokens", "create", "--user", "a@example.com", "--admin"], ["--user", "--admin"]),
        (["tokens", "create", "--user", "a@example.com", "--org", "x"], ["--user", "--org"]),
        (["tokens", "create", "--viewer"], ["--viewer", "--org"]),
        (
            [*USERS_CREATE, "viewer", "--org", "acme", "--password-stdin", "--no-password"],
            ["--password-stdin", "--no-password"],
        ),
        (
            [*USERS_CREATE, "admin", "--org", "acme", "--password-stdin"],
            ["--org", "admin"],
        ),
    ],
)
def test_flags_that_contradict_each_other_are_refused(
    env: Settings, args: list[str], flags: list[str]
) -> None:
    """``tokens create --admin --org acme`` once made an admin of every organisation, and
    ``--admin --viewer`` a viewer: one flag was dropped without a word."""
    invoke("db", "upgrade")
    line = refused(*args, stdin="long-enough-password\n")
    assert all(flag in line for flag in flags), line
    assert count(env, t.api_tokens) == 0 and count(env, users) == 0


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["serve", "--port", "99999"], "--port"),
        (["serve", "--port", "-1"], "--port"),
        (["serve", "--demo-events", "0"], "--demo-events"),
        (["keys", "create", "--org", ""], "--org"),
        (["keys", "create", "--org", "  "], "--org"),
        (["demo", "--days", "0"], "--days"),
        (["demo", "--days", "-1"], "--days"),
        (["demo", "--events", "-5"], "--events"),
        (["rollups", "rebuild", "--start", "garbage"], "--start"),
        (["prices", "reprice", "--start", "2026-01-01", "--end", "9999-12-31"], "--end"),
    ],
)
def test_flag_values_out_of_range_are_refused(env: Settings, args: list[str], flag: str) -> None:
    line = refused_serving(*args) if args[0] == "serve" else refused(*args)
    assert flag in line and "Date" not in line, line  # the flag, never the API's startDate
    if args[0] == "keys":
        assert count(env, t.ingest_keys) == 0
    if args[0] == "demo":
        assert not (env.data_dir / "llmledger.db").exists()  # refused before anything is opened


def test_errors_of_the_pricing_layer_name_the_flags(env: Settings) -> None:
    """The pricing layer speaks the API's field names; the command line says its flags."""
    line = refused("prices", "fallback", "--input", "5")
    assert "--input" in line and "--output" in line and "PerMillion" not in line
    line = refused("prices", "set", "gpt-4o", "--input", "1", "--tier", "5:input=x")
    assert "--tier" in line and "tiers." not in line


def _write(settings: Settings, days_ago: float, n: int, **over: str) -> None:
    led = Ledger.open(settings)
    at = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    try:
        led.write(
            [
                UsageEvent(
                    event_id=uuid.uuid4(),
                    timestamp=at + dt.timedelta(minutes=i),
                    provider=over.get("provider", "openai"),
                    model=over.get("model", "gpt-4o"),
                    input_tokens=1_000_000,
                    output_tokens=10,
                )
                for i in range(n)
            ]
        )
    finally:
        led.close()


def test_ranges_that_would_do_nothing_are_refused(env: Settings) -> None:
    """A reversed range, or one wholly older than the retention cutoff, once answered "nothing
    to repair" (a false all-clear) or re-priced nothing with success."""
    _write(env, 1, 3)
    line = refused("rollups", "rebuild", "--start", "2026-12-03", "--end", "2026-12-01")
    assert "--end 2026-12-01 is before --start 2026-12-03" in line
    line = refused("rollups", "rebuild", "--start", "2020-01-01", "--end", "2020-02-01")
    assert "before the retention cutoff" in line
    line = refused("prices", "reprice", "--start", "2026-12-03", "--end", "2026-12-01")
    assert "--end 2026-12-01 is before --start 2026-12-03" in line
    assert count(env, reprice_jobs) == 0


def test_a_range_clipped_at_the_retention_cutoff_says_so(env: Settings) -> None:
    _write(env, 1, 3)
    result = invoke("rollups", "rebuild", "--start", "2020-01-01")
    assert result.exit_code == 0, result.output
    cutoff = (dt.datetime.now(dt.UTC) - dt.timedelta(days=90)).date()
    first = result.stdout.splitlines()[0]
    assert first.startswith("--start 2020-01-01 is before the retention cutoff")
    assert f"{cutoff:%Y-%m-%d}" in first or f"{cutoff + dt.timedelta(days=1):%Y-%m-%d}" in first
    assert "nothing to repair" in result.stdout


def test_the_reprice_hint_of_prices_set_runs_as_printed(env: Settings) -> None:
    """It once said ``--end today`` (refused) and left out ``--provider``; a model name with a
    space must survive the shell too."""
    _write(env, 2, 3, provider="acme", model="acme ft")
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=5)).date().isoformat()
    result = invoke(
        "prices", "set", "acme ft", "--provider", "acme", "--input", "1", "--output", "2",
        "--from", start,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    hint = result.stdout.split("would be re-priced: ", 1)[1].splitlines()[0]
    words = shlex.split(hint)
    assert words[:3] == ["llmledger", "prices", "reprice"] and "--provider" in words
    done = invoke(*words[1:])
    assert done.exit_code == 0, done.output
    assert "re-priced 3 events: 3 changed" in done.stdout
