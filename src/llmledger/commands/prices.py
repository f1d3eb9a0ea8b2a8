"""``llmledger prices``: see, correct and sync prices, and re-price stored events. Every change
is audit-logged as ``cli:<login name>``."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from llmledger.auth.tokens import Principal
    from llmledger.ledger import Ledger
    from llmledger.pricing.rows import PriceRow

_CLASS_OPTIONS = (
    ("input", "--input", "USD per 1M input tokens."),
    ("output", "--output", "USD per 1M output tokens."),
    ("cache_read", "--cache-read", "USD per 1M cache-read tokens (default: the input price)."),
    ("cache_write_5m", "--cache-write-5m", "USD per 1M 5-minute cache-write tokens."),
    ("cache_write_1h", "--cache-write-1h", "USD per 1M 1-hour cache-write tokens."),
    ("reasoning", "--reasoning", "USD per 1M reasoning tokens (default: the output price)."),
    ("input_audio", "--input-audio", "USD per 1M input audio tokens."),
    ("output_audio", "--output-audio", "USD per 1M output audio tokens."),
)


class CliAudit:
    """The audit sink of the command line: the person at the terminal, as an admin."""

    def __init__(self) -> None:
        from llmledger.auth.audit import cli_actor

        self.actor: Principal = cli_actor()
        self.label = self.actor.label

    def record(
        self,
        conn: Connection,
        *,
        action: str,
        target: str,
        before: Any = None,
        after: Any = None,
        org_id: str | None = None,
    ) -> int:
        from llmledger.auth.audit import record_audit

        return record_audit(
            conn,
            actor=self.actor,
            action=action,
            target=target,
            before=before,
            after=after,
            org_id=org_id,
        )


def _open(ctx: click.Context) -> Ledger:
    from llmledger.ledger import Ledger

    return Ledger.open(ctx.obj)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _when(name: str, value: str | None, *, end: bool = False) -> dt.datetime | None:
    from llmledger.pricing.convert import PriceError, parse_instant

    if value is None:
        return None
    try:
        return parse_instant(name, value, end=end)
    except PriceError as exc:
        raise click.BadParameter(str(exc)) from None


def _line(row: PriceRow) -> str:
    from llmledger.pricing.convert import dec_str

    def p(cls: str) -> str:
        return dec_str(row.prices.get(cls)) or "-"

    extra = []
    if row.tiers:
        extra.append(f"tiers>{','.join(str(t.above_input_tokens) for t in row.tiers)}")
    if row.per_request:
        extra.append(f"+{dec_str(row.per_request)}/request")
    return (
        f"{row.id:>7}  {row.provider}/{row.model}  in {p('input')}  out {p('output')}  "
        f"cache r/5m/1h {p('cache_read')}/{p('cache_write_5m')}/{p('cache_write_1h')}  "
        f"[{row.source}] {' '.join(extra)}"
    ).rstrip()


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


@click.group(name="prices")
def group() -> None:
    """Prices: list, show, correct, sync from LiteLLM, re-price stored events."""


@group.command("list")
@click.option("--search", default=None, help="Part of a model or provider name.")
@click.option("--provider", default=None, help="Only this provider.")
@click.option("--source", type=click.Choice(["bundled", "litellm", "manual"]), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@click.pass_context
def list_(
    ctx: click.Context, search: str | None, provider: str | None, source: str | None, as_json: bool
) -> None:
    """The price in force now for every model ($ per 1M tokens)."""
    from llmledger.pricing.catalog import in_force
    from llmledger.pricing.convert import row_json

    ledger = _open(ctx)
    try:
        with ledger.engine.connect() as conn:
            rows = in_force(conn, _now(), search=search, provider=provider, source=source)
    finally:
        ledger.close()
    if as_json:
        _echo_json([row_json(r) for r in rows])
        return
    for row in rows:
        click.echo(_line(row))
    click.echo(f"{len(rows)} models")


@group.command("show")
@click.argument("model")
@click.option("--provider", default=None, help="The provider (default: inferred from the name).")
@click.option("--json", "as_json", is_flag=True, help="Print the history as JSON.")
@click.pass_context
def show(ctx: click.Context, model: str, provider: str | None, as_json: bool) -> None:
    """The price that applies to MODEL now, and its history."""
    from llmledger.pricing.catalog import history
    from llmledger.pricing.convert import row_json
    from llmledger.pricing.infer import infer_provider

    ledger = _open(ctx)
    try:
        book = ledger.pricer().book
        now = _now()
        who = (provider or infer_provider(model) or "").lower()
        row = book.price_in_force(who, model, now)
        if row is None:
            fallback = book.fallback_at(now)
            raise click.ClickException(
                f"no catalog price for {who or '?'}/{model}: it is priced with the fallback "
                f"(row {fallback.id}); `llmledger prices set` adds one"
            )
        with ledger.engine.connect() as conn:
            rows = history(conn, row)
    finally:
        ledger.close()
    if as_json:
        _echo_json({"inForce": row.id, "history": [row_json(r) for r in rows]})
        return
    click.echo(f"in force now: {_line(row)}")
    for r in rows:
        span = f"{r.effective_from:%Y-%m-%d %H:%M} .. {r.effective_to or 'open'}"
        click.echo(f"  {span}  {_line(r)}")


def _tier(text: str) -> dict[str, Any]:
    """``200000:input=2.5,output=15`` → an API tier."""
    from llmledger.pricing.convert import API_FIELDS

    above, _, rest = text.partition(":")
    try:
        tier: dict[str, Any] = {"aboveInputTokens": int(above)}
        for part in rest.split(","):
            cls, _, value = part.partition("=")
            name = API_FIELDS.get(cls.strip().replace("-", "_"), cls.strip())
            if name not in API_FIELDS.values():
                raise ValueError(cls)
            tier[name] = value.strip()
    except ValueError:
        raise click.BadParameter(f"{text!r}: write ABOVE:input=P,output=P,...") from None
    return tier


def _price_options(f: Any) -> Any:
    for cls, flag, help_text in reversed(_CLASS_OPTIONS):
        f = click.option(flag, cls, default=None, help=help_text)(f)
    return f


@group.command("set")
@click.argument("model")
@click.option("--provider", default=None, help="The provider (default: inferred from the name).")
@_price_options
@click.option("--per-request", default=None, help="USD per request, on top of tokens.")
@click.option("--tier", "tiers", multiple=True, help="ABOVE:input=P,output=P (repeatable).")
@click.option("--alias", "aliases", multiple=True, help="Another name of the model.")
@click.option("--from", "start", default=None, help="Start (date or datetime); default now.")
@click.option("--notes", default=None, help="Why (shown in the history).")
@click.pass_context
def set_(ctx: click.Context, model: str, provider: str | None, **opts: Any) -> None:
    """Enter a manual price for MODEL (wins over the catalog from --from on)."""
    from llmledger.pricing.catalog import CatalogError, add_manual, price_change
    from llmledger.pricing.convert import API_FIELDS, PriceError, manual_row
    from llmledger.pricing.infer import infer_provider
    from llmledger.pricing.traffic import reprice_suggestion

    who = (provider or infer_provider(model) or "").lower()
    if not who:
        raise click.UsageError("the provider cannot be inferred from the name; give --provider")
    now = _now()
    data: dict[str, Any] = {API_FIELDS[cls]: opts[cls] for cls, _, _ in _CLASS_OPTIONS}
    data |= {
        "perRequest": opts["per_request"],
        "tiers": [_tier(t) for t in opts["tiers"]],
        "aliases": list(opts["aliases"]),
        "notes": opts["notes"],
    }
    audit = CliAudit()
    ledger = _open(ctx)
    try:
        row = manual_row(
            data,
            provider=who,
            model=model,
            effective_from=_when("--from", opts["start"]) or now,
            changed_by=audit.label,
            changed_at=now,
        )
        with price_change(ledger.engine) as conn:
            change = add_manual(conn, row, now=now, audit=audit)
        ledger.reload_prices()
        with ledger.engine.connect() as conn:
            hint = reprice_suggestion(conn, ledger.pricer().book, change.row)
    except (PriceError, CatalogError) as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        ledger.close()
    click.echo(f"added {_line(change.row)}")
    for r in change.closed:
        click.echo(f"closed {_line(r)}")
    if hint and hint["events"]:
        click.echo(
            f"{hint['events']} stored events since {hint['since']} would be re-priced: "
            f"llmledger prices reprice --start {hint['since'][:10]} --end today --model {model}"
        )
    if hint and hint.get("hint"):
        click.echo(hint["hint"])


@group.command("delete")
@click.argument("row_id", type=int)
@click.option("--at", default=None, help="Out of force from (default now; its start: withdrawn).")
@click.pass_context
def delete(ctx: click.Context, row_id: int, at: str | None) -> None:
    """Take manual price row ROW_ID out of force; the catalog price applies again."""
    from llmledger.pricing.catalog import CatalogError, delete_manual, price_change

    ledger = _open(ctx)
    try:
        now = _now()
        with price_change(ledger.engine) as conn:
            closed = delete_manual(
                conn, row_id, at=_when("--at", at) or now, now=now, audit=CliAudit()
            )
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        ledger.close()
    click.echo(f"closed {_line(closed)} at {closed.effective_to}")


@group.command("fallback")
@click.option("--input", "input_", default=None, help="New USD per 1M input tokens.")
@click.option("--output", default=None, help="New USD per 1M output tokens.")
@click.option("--from", "start", default=None, help="Start (date or datetime); default now.")
@click.pass_context
def fallback(ctx: click.Context, input_: str | None, output: str | None, start: str | None) -> None:
    """Show the price of models no catalog knows, or change it (--input and --output)."""
    from llmledger.pricing.catalog import (
        CatalogError,
        fallback_in_force,
        fallback_rows,
        price_change,
        set_fallback,
    )
    from llmledger.pricing.convert import PriceError, fallback_row

    ledger = _open(ctx)
    try:
        now = _now()
        if input_ is not None or output is not None:
            audit = CliAudit()
            data = {"inputPerMillion": input_, "outputPerMillion": output}
            row = fallback_row(
                data,
                effective_from=_when("--from", start) or now,
                changed_by=audit.label,
                changed_at=now,
            )
            with price_change(ledger.engine) as conn:
                set_fallback(conn, row, now=now, audit=audit)
        with ledger.engine.connect() as conn:
            current = fallback_in_force(fallback_rows(conn), now)
    except (PriceError, CatalogError) as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        ledger.close()
    if current is not None:
        click.echo(f"fallback: {_line(current)} since {current.effective_from}")


@group.command("sync")
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

    ledger = _open(ctx)
    audit = CliAudit()
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
                now=_now(),
                dry_run=opts["dry_run"],
                force=opts["force"],
                changed_by=audit.label,
                audit=audit,
            )
    except (SourceError, SyncRefused) as exc:
        raise click.ClickException(str(exc)) from None
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


@group.command("reprice")
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

    first, last = _when("--start", start), _when("--end", end, end=True)
    assert first is not None and last is not None
    scope = RepriceScope(to_us(first), to_us(last), org_id, model, provider)
    audit = CliAudit()
    ledger = _open(ctx)

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
