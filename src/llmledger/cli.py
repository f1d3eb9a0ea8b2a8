"""The ``llmledger`` command line."""

from __future__ import annotations

import collections
import datetime as dt
import gc
import sys
import time
from typing import TYPE_CHECKING

import click

from llmledger.commands.environment import load_settings, open_ledger, setting_errors
from llmledger.commands.errors import OneLineGroup
from llmledger.settings import Settings

if TYPE_CHECKING:  # the CLI imports its heavy parts lazily, per command
    from concurrent.futures import Future

    from llmledger.events import UsageEvent
    from llmledger.ledger import Ledger
    from llmledger.store.write import WriteResult


def _settings(ctx: click.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


def _open(ctx: click.Context, *, upgrade: bool = True) -> Ledger:
    return open_ledger(_settings(ctx), upgrade=upgrade)


def _parse_when(flag: str, value: str | None, *, end: bool) -> int | None:
    if value is None:
        return None
    from llmledger.analytics.window import WindowError, parse_window

    now = dt.datetime.now(dt.UTC)
    try:
        w = (
            parse_window(value, None, now=dt.datetime(3000, 1, 1, tzinfo=dt.UTC))
            if not end
            else parse_window("1970-01-01", value, now=now)
        )
    except WindowError as exc:
        reason = str(exc).removeprefix(f"{exc.param}: ")
        raise click.BadParameter(reason, param_hint=flag) from None
    return w.end_us if end else w.start_us


@click.group(cls=OneLineGroup)
@click.version_option(package_name="llmledger")
@click.pass_context
def main(ctx: click.Context) -> None:
    """llmledger: a self-hosted LLM cost monitor."""
    ctx.obj = load_settings()


@main.command()
@click.option(
    "--host", default=None, help="Address to listen on (default LLMLEDGER_HOST, 127.0.0.1)."
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Port (default LLMLEDGER_PORT, 8000).",
)
@click.option(
    "--demo", is_flag=True, help="Fill an empty database with ~90 days of demo data first."
)
@click.option(
    "--demo-events",
    type=click.IntRange(min=1),
    default=200_000,
    show_default=True,
    help="Demo size.",
)
@click.pass_context
def serve(
    ctx: click.Context, host: str | None, port: int | None, demo: bool, demo_events: int
) -> None:
    """Migrate the database and serve the HTTP API."""
    from llmledger.server.app import create_app
    from llmledger.server.serving import serve as serve_http

    settings = _settings(ctx)
    ledger = _open(ctx)
    if demo:
        _demo_if_empty(ledger, demo_events)
    with setting_errors(settings):  # the secret key is kept in the data directory
        app = create_app(settings, ledger=ledger)
    host = host or settings.host
    port = port or settings.port
    click.echo(
        f"llmledger on http://{host}:{port}  (database: {ledger.engine.url.render_as_string()})"
    )
    ledger.pricer()  # the price book is long-lived: load it before freezing the heap
    ledger.writer.start()  # the writer process, if any, is up before the first request
    # Everything built so far lives as long as the process. Freezing it keeps the cyclic
    # garbage collector from walking it again and again while ingest allocates millions of
    # short-lived objects (full collections otherwise cost more than the writes).
    gc.collect()
    gc.freeze()
    try:
        serve_http(app, settings, host=host, port=port)  # its lifespan runs the schedules
    finally:
        ledger.close()


def _demo_if_empty(ledger: Ledger, events: int) -> None:
    """Fill an empty database with demo traffic, then print fresh demo credentials: an admin
    token, and logins for a demo admin and a viewer of the busiest organisation. A database
    that holds events, users or tokens is left alone: no demo traffic, and no account or token
    with a printed secret (on a real deployment that would be a known way in)."""
    import secrets

    from sqlalchemy import func, select

    from llmledger.auth.audit import cli_actor, record_audit
    from llmledger.auth.passwords import hash_password, hasher_for
    from llmledger.auth.tables import users
    from llmledger.auth.tokens import create_api_token
    from llmledger.auth.users import create_user
    from llmledger.auth.writing import writing
    from llmledger.store import tables as t

    with ledger.engine.connect() as conn:
        held = {
            what: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for what, table in (("events", t.events), ("users", users), ("tokens", t.api_tokens))
        }
    if any(held.values()):
        what = ", ".join(f"{n} {name}" for name, n in held.items() if n)
        click.echo(
            f"--demo does nothing: the database already holds {what}; no demo traffic, "
            "account or token was made"
        )
        return
    _write_demo(ledger, events=events, days=90, seed=7)
    _write_demo_reports(ledger)
    _write_demo_usage_metrics(ledger, days=90, seed=7)
    with ledger.engine.connect() as conn:
        e = t.events.c
        top = conn.execute(
            select(e.org_id)
            .where(e.org_id != "")
            .group_by(e.org_id)
            .order_by(func.count().desc(), e.org_id)
            .limit(1)
        ).scalar_one_or_none()
    hasher = hasher_for(ledger.settings)
    logins = [("admin@demo.llmledger", "admin", None)]
    if top is not None:
        logins.append(("viewer@demo.llmledger", "viewer", top))
    passwords = [secrets.token_urlsafe(12) for _ in logins]
    digests = [hash_password(hasher, p) for p in passwords]  # before the write lock
    with writing(ledger.engine) as conn:
        _, token = create_api_token(conn, role="admin", name="demo admin")
        for (email, role, org), password, digest in zip(logins, passwords, digests, strict=True):
            user = create_user(
                conn,
                email=email,
                role=role,
                org_id=org,
                name=f"demo {role}",
                password_hash=digest,
            )
            record_audit(
                conn,
                actor=cli_actor(),
                action="user.create",
                target=f"user:{user['id']}",
                after=user,
                org_id=org,
            )
            scope = f" of {org}" if org else ""
            click.echo(f"demo {role}{scope} login (shown once): {email} / {password}")
    click.echo(f"demo admin token (shown once): {token}")


def _write_demo_reports(ledger: Ledger) -> None:
    """Provider reports for the demo traffic, with planted differences (providers/demo.py)."""
    from llmledger.providers.demo import write_demo_reports

    click.echo(f"demo: {write_demo_reports(ledger.engine)} provider report rows written")


def _write_demo_usage_metrics(ledger: Ledger, *, days: int, seed: int) -> None:
    """The usage explorer's demo figures (images, audio, vector stores, ...)."""
    from llmledger.auth.writing import writing
    from llmledger.providers.demo_usage import write_demo_usage_metrics

    with writing(ledger.engine) as conn:
        rows = write_demo_usage_metrics(conn, days=days, now=dt.datetime.now(dt.UTC), seed=seed)
    click.echo(f"demo: {rows} provider usage metric rows written")


def _write_demo(ledger: Ledger, *, events: int, days: int, seed: int) -> None:
    from tqdm import tqdm

    from llmledger.demo import write_demo
    from llmledger.metrics import metrics

    started = time.perf_counter()
    accepted = 0
    writer = ledger.writer
    # With a writer process, it commits each chunk while the next one is generated and priced
    # here (two chunks in flight); otherwise each chunk is written on this thread.
    pending: collections.deque[Future[WriteResult]] = collections.deque()
    if writer.has_process:
        writer.start()

    def write(batch: list[UsageEvent]) -> None:
        nonlocal accepted
        if not writer.has_process:
            accepted += ledger.write(batch).accepted
            return
        pending.append(writer.submit(writer.prepare(batch)))
        while len(pending) > 2:
            accepted += pending.popleft().result().accepted

    with tqdm(total=events, unit="ev", desc="demo", file=sys.stderr) as bar:
        write_demo(write, events=events, days=days, seed=seed, progress=bar.update)
        while pending:
            accepted += pending.popleft().result().accepted
    secs = time.perf_counter() - started
    metrics().written("demo", accepted=accepted, duplicates=0)
    click.echo(f"demo: {accepted} new events written in {secs:.1f}s")


@main.command()
@click.option(
    "--events",
    type=click.IntRange(min=1),
    default=200_000,
    show_default=True,
    help="How many events.",
)
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    default=90,
    show_default=True,
    help="Over how many days (up to ten years).",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same events.")
@click.pass_context
def demo(ctx: click.Context, events: int, days: int, seed: int) -> None:
    """Write realistic demo traffic through the real writer (idempotent per seed)."""
    ledger = _open(ctx)
    try:
        _write_demo(ledger, events=events, days=days, seed=seed)
    finally:
        ledger.close()


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply all migrations (and seed the bundled prices on first run)."""
    from llmledger.store.migrate import current_revision

    ledger = _open(ctx)
    click.echo(f"database at revision {current_revision(ledger.engine)}")
    ledger.close()


@main.group()
def keys() -> None:
    """Ingest keys (write-only, bound to one organisation)."""


@keys.command("create")
@click.option("--org", "org_id", required=True, help="The organisation the key writes to.")
@click.option("--name", default="cli", show_default=True, help="A label to recognise it by.")
@click.pass_context
def keys_create(ctx: click.Context, org_id: str, name: str) -> None:
    """Create an ingest key and print it once."""
    from llmledger.auth.audit import cli_actor, record_audit
    from llmledger.auth.credentials import get_ingest_key
    from llmledger.auth.tokens import create_ingest_key

    if not org_id.strip() or len(org_id) > 256 or "\x00" in org_id:
        raise click.BadParameter("name the organisation (1 to 256 characters)", param_hint="--org")
    ledger = _open(ctx)
    try:
        with ledger.engine.begin() as conn:
            key_id, secret = create_ingest_key(conn, org_id=org_id, name=name)
            record_audit(
                conn,
                actor=cli_actor(),
                action="key.create",
                target=f"key:{key_id}",
                after=get_ingest_key(conn, key_id),
                org_id=org_id,
            )
    finally:
        ledger.close()
    click.echo(secret)


@main.group()
def rollups() -> None:
    """Rollups (written with the events; this is the repair path)."""


@rollups.command("rebuild")
@click.option(
    "--start", default=None, help="First day (YYYY-MM-DD); default: the retention cutoff."
)
@click.option("--end", default=None, help="Last day, inclusive (YYYY-MM-DD); default: today.")
@click.pass_context
def rollups_rebuild(ctx: click.Context, start: str | None, end: str | None) -> None:
    """Recompute rollups from raw events and print every difference repaired."""
    from llmledger.analytics.maintenance import BeforeRetention, rebuild_days
    from llmledger.analytics.window import WindowError
    from llmledger.store.engine import begin_immediate
    from llmledger.store.rebuild import rebuild_rollups
    from llmledger.store.retention import pruned_before_us, retention_cutoff_us
    from llmledger.store.rows import from_us

    settings = _settings(ctx)
    now_us = time.time_ns() // 1000
    start_us = _parse_when("--start", start, end=False)
    end_us = _parse_when("--end", end, end=True)
    cutoff = retention_cutoff_us(now_us, settings.retention_days)
    kept = f"the retention cutoff {from_us(cutoff):%Y-%m-%d} ({settings.retention_days} days)"
    ledger = _open(ctx)
    with ledger.engine.connect() as conn:
        pruned = pruned_before_us(conn)
    if pruned > cutoff:  # an earlier prune with a shorter retention reached further
        cutoff, kept = pruned, f"the furthest prune so far, {from_us(pruned):%Y-%m-%d}"
    try:
        days = rebuild_days(
            cutoff if start_us is None else start_us,
            now_us + 1 if end_us is None else end_us,
            cutoff,
        )
    except BeforeRetention:
        ledger.close()
        raise click.UsageError(
            f"--end {end} is before {kept}: raw events that old are pruned, nothing can be "
            "recounted"
        ) from None
    except WindowError:
        ledger.close()
        raise click.UsageError(
            f"--end {end} is before --start {start}: the range is empty"
            if end is not None
            else f"--start {start} is after today: give --end too"
        ) from None
    if days.clipped:
        click.echo(f"--start {start} is before {kept}: rebuilding from the cutoff")
    try:
        with ledger.engine.connect() as conn:
            begin_immediate(conn)
            with conn.begin():
                report = rebuild_rollups(
                    conn, start_us=days.start_us, end_us=days.end_us, cutoff_us=cutoff
                )
    finally:
        ledger.close()
    span = f"{from_us(report.start_us):%Y-%m-%d} .. {from_us(report.end_us):%Y-%m-%d} (exclusive)"
    if report.changed == 0:
        click.echo(f"rollups agree with raw events for {span}: nothing to repair")
        return
    click.echo(f"repaired {report.changed} rollup rows for {span}:")
    for table, rows in report.differences.items():
        for row in rows[:50]:
            click.echo(f"  {table}: {row}")
        if len(rows) > 50:
            click.echo(f"  {table}: ... and {len(rows) - 50} more")


@main.command()
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@click.pass_context
def prune(ctx: click.Context, dry_run: bool) -> None:
    """Delete raw events older than the retention (rollups and sessions are kept)."""
    from llmledger.store.retention import prune as do_prune

    settings = _settings(ctx)
    ledger = _open(ctx)
    try:
        n = do_prune(
            ledger.engine,
            now_us=time.time_ns() // 1000,
            retention_days=settings.retention_days,
            dry_run=dry_run,
        )
    finally:
        ledger.close()
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} {n} raw events older than {settings.retention_days} days")


#: command groups that live in their own modules (``llmledger.commands.<name>.group``)
_GROUPS: tuple[str, ...] = ("users", "tokens", "prices", "alerts", "imports")


def _register_groups() -> None:
    from importlib import import_module

    for name in _GROUPS:
        module = import_module(f"llmledger.commands.{name}")
        main.add_command(module.group)


_register_groups()

if __name__ == "__main__":  # pragma: no cover
    main()
