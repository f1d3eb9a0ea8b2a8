"""``llmledger prices sync`` and ``llmledger prices reprice``: pull catalogs, re-price stored
events (with a progress bar). Audited as ``cli:<login name>``."""

from __future__ import annotations

import sys
from typing import Any

import click

from llmledger.auth.audit import cli_audit
from llmledger.commands.prices_support import open_ledger, utcnow, when


@click.command("sync")
@click.option("--source", type=click.Choice(["litellm", "genai-prices"]), default="litellm")
@click.option("--url", default=None, help="Download from here (default LLMLEDGER_LITELLM_URL).")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--installed", is_flag=True, help="Read an installed litellm's bundled copy.")
@click.option("--mode", "modes", multiple=True, help="LiteLLM modes to take (chat, embedding).")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@click.option("--force", is_flag=True, help="Sync even if the catalog shrank by over 20%.")
@click.option("--verbose", "-v", is_flag=True, help="List every added and changed model.")
@click.pass_context
def sync(ctx: click.Context, source: str, path: str | None, **opts: Any) -> None:
    """Pull the newest prices from LiteLLM's catalog (or genai-prices' data)."""
    from pathlib import Path

    from llmledger.pricing.catalog import price_change
    from llmledger.pricing.litellm import DEFAULT_MODES
    from llmledger.pricing.sources import SourceError, load, parse
    from llmledger.pricing.sync import SyncRefused, run_sync

    ledger = open_ledger(ctx)
    audit = cli_audit()
    try:
        loaded = load(
            source,
            url=opts["url"],
            content=Path(path).read_bytes() if path else None,
            installed=opts["installed"],
            default_url=ledger.settings.litellm_url,
            max_bytes=ledger.settings.max_price_file_bytes,
        )
        parsed = parse(source, loaded, modes=tuple(opts["modes"] or DEFAULT_MODES))
        with price_change(ledger.engine) as conn:
            answer = run_sync(
                conn,
                source,
                loaded,
                parsed,
                now=utcnow(),
                dry_run=opts["dry_run"],
                force=opts["force"],
                changed_by=audit.label,
                audit=audit,
            )
    except (SourceError, SyncRefused) as exc:
        # the refusal names the API's ``force`` parameter; here it is the flag
        raise click.ClickException(str(exc).replace("pass force", "pass --force")) from None
    finally:
        ledger.close()
    counts = ", ".join(f"{n} {k}" for k, n in answer["counts"].items())
    verb = "would sync" if opts["dry_run"] else "synced"
    click.echo(f"{verb} {answer['models']} models from {answer['location']}: {counts}")
    if opts["verbose"]:
        for a in answer["added"]:
            click.echo(f"  added    {a['provider']}/{a['model']}")
        for c in answer["changed"]:
            click.echo(f"  changed  {c['provider']}/{c['model']}: {c['before']} -> {c['after']}")


@click.command("reprice")
@click.option("--start", required=True, help="First day (YYYY-MM-DD) or instant.")
@click.option("--end", required=True, help="Last day, inclusive (YYYY-MM-DD), or instant.")
@click.option("--org", "org_id", default=None, help="Only this organisation.")
@click.option("--model", default=None, help="Only this model (and names priced like it).")
@click.option("--provider", default=None, help="Only this provider.")
@click.pass_context
def reprice(
    ctx: click.Context,
    start: str,
    end: str,
    org_id: str | None,
    model: str | None,
    provider: str | None,
) -> None:
    """Re-price stored events with the prices in force at their timestamps."""
    import time

    from tqdm import tqdm

    from llmledger.pricing import jobs
    from llmledger.pricing.reprice import RepriceProgress, RepriceScope
    from llmledger.store.rows import to_us

    first, last = when("--start", start), when("--end", end, end=True)
    assert first is not None and last is not None
    if last <= first:
        raise click.UsageError(f"--end {end} is before --start {start}: the range is empty")
    scope = RepriceScope(to_us(first), to_us(last), org_id, model, provider)
    audit = cli_audit()
    ledger = open_ledger(ctx)

    def clock_us() -> int:
        return time.time_ns() // 1000

    try:
        with ledger.engine.begin() as conn:
            job_id = jobs.create_job(conn, scope, requested_by=audit.label, now_us=clock_us())
        with tqdm(unit="ev", desc="reprice", file=sys.stderr) as bar:

            def shown(p: RepriceProgress) -> None:
                bar.total = p.total
                bar.update(p.scanned - bar.n)

            done = jobs.run_job(
                ledger.engine,
                ledger.pricer(),
                job_id,
                scope,
                audit=audit,
                clock_us=clock_us,
                progress=shown,
            )
    finally:
        ledger.close()
    report = jobs.report_json(done)
    click.echo(
        f"re-priced {report['eventsScanned']} events: {report['eventsChanged']} changed, "
        f"cost {report['costBeforeUsd']} -> {report['costAfterUsd']} USD "
        f"(delta {report['costDeltaUsd']}); job {job_id}"
    )
