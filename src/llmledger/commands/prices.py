"""``llmledger prices``: see, correct and sync prices, and re-price stored events. Every change
is audit-logged as ``cli:<login name>``."""

from __future__ import annotations

import json
import shlex
from typing import Any

import click

from llmledger.auth.audit import cli_audit
from llmledger.commands.prices_support import flag_words, line, open_ledger, utcnow, when
from llmledger.commands.prices_sync import reprice, sync

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


_FLAGS = {cls: flag for cls, flag, _ in _CLASS_OPTIONS}


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

    ledger = open_ledger(ctx)
    try:
        with ledger.engine.connect() as conn:
            rows = in_force(conn, utcnow(), search=search, provider=provider, source=source)
    finally:
        ledger.close()
    if as_json:
        _echo_json([row_json(r) for r in rows])
        return
    for row in rows:
        click.echo(line(row))
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

    ledger = open_ledger(ctx)
    try:
        book = ledger.pricer().book
        now = utcnow()
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
    click.echo(f"in force now: {line(row)}")
    for r in rows:
        span = f"{r.effective_from:%Y-%m-%d %H:%M} .. {r.effective_to or 'open'}"
        click.echo(f"  {span}  {line(r)}")


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
    from llmledger.pricing.convert import API_FIELDS, PriceError, dec_str, manual_row
    from llmledger.pricing.infer import infer_provider
    from llmledger.pricing.inherit import UnpricedClass
    from llmledger.pricing.traffic import reprice_suggestion

    who = (provider or infer_provider(model) or "").lower()
    if not who:
        raise click.UsageError("the provider cannot be inferred from the name; give --provider")
    now = utcnow()
    data: dict[str, Any] = {API_FIELDS[cls]: opts[cls] for cls, _, _ in _CLASS_OPTIONS}
    data |= {
        "perRequest": opts["per_request"],
        "tiers": [_tier(t) for t in opts["tiers"]],
        "aliases": list(opts["aliases"]),
        "notes": opts["notes"],
    }
    audit = cli_audit()
    ledger = open_ledger(ctx)
    try:
        row = manual_row(
            data,
            provider=who,
            model=model,
            effective_from=when("--from", opts["start"]) or now,
            changed_by=audit.label,
            changed_at=now,
        )
        with price_change(ledger.engine) as conn:
            change = add_manual(conn, row, now=now, audit=audit)
        ledger.reload_prices()
        with ledger.engine.connect() as conn:
            hint = reprice_suggestion(conn, ledger.pricer().book, change.row)
    except UnpricedClass as exc:
        raise click.UsageError(exc.worded(_FLAGS)) from None
    except (PriceError, CatalogError) as exc:
        raise click.UsageError(flag_words(str(exc))) from None
    finally:
        ledger.close()
    click.echo(f"added {line(change.row)}")
    if change.inherited_from is not None:
        base = change.inherited_from
        given = ", ".join(f"{_FLAGS[c]} {dec_str(base.prices[c])}" for c in change.inherited)
        click.echo(f"inherited from row {base.id} [{base.source}]: {given}")
    for r in change.closed:
        click.echo(f"closed {line(r)}")
    if hint and hint["events"]:
        start, end = hint["since"][:10], f"{utcnow():%Y-%m-%d}"
        words = ["prices", "reprice", "--start", start, "--end", end]
        command = shlex.join(["llmledger", *words, "--provider", who, "--model", model])
        click.echo(
            f"{hint['events']} stored events since {hint['since']} would be re-priced: {command}"
        )
    if hint and hint.get("hint"):
        click.echo(flag_words(hint["hint"]))


@group.command("delete")
@click.argument("row_id", type=int)
@click.option("--at", default=None, help="Out of force from (default now; its start: withdrawn).")
@click.pass_context
def delete(ctx: click.Context, row_id: int, at: str | None) -> None:
    """Take manual price row ROW_ID out of force; the catalog price applies again."""
    from llmledger.pricing.catalog import CatalogError, delete_manual, price_change

    ledger = open_ledger(ctx)
    try:
        now = utcnow()
        with price_change(ledger.engine) as conn:
            closed = delete_manual(
                conn, row_id, at=when("--at", at) or now, now=now, audit=cli_audit()
            )
    except CatalogError as exc:
        raise click.ClickException(flag_words(str(exc))) from None
    finally:
        ledger.close()
    click.echo(f"closed {line(closed)} at {closed.effective_to}")


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

    ledger = open_ledger(ctx)
    try:
        now = utcnow()
        if input_ is not None or output is not None:
            audit = cli_audit()
            data = {"inputPerMillion": input_, "outputPerMillion": output}
            row = fallback_row(
                data,
                effective_from=when("--from", start) or now,
                changed_by=audit.label,
                changed_at=now,
            )
            with price_change(ledger.engine) as conn:
                set_fallback(conn, row, now=now, audit=audit)
        with ledger.engine.connect() as conn:
            current = fallback_in_force(fallback_rows(conn), now)
    except (PriceError, CatalogError) as exc:
        raise click.UsageError(flag_words(str(exc))) from None
    finally:
        ledger.close()
    if current is not None:
        click.echo(f"fallback: {line(current)} since {current.effective_from}")


group.add_command(sync)
group.add_command(reprice)
