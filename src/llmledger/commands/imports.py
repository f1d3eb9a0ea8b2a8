"""``llmledger import openai|anthropic|groq --since DATE [--until DATE]``: import a provider's
own usage and cost reports for a range of UTC days (both inclusive), replacing what an earlier
import stored for them. Progress goes to stderr; the key comes from the provider's variable."""

from __future__ import annotations

import datetime as dt
import sys

import click

DAY_S = 86400


def _day(flag: str, value: str) -> int:
    try:
        if len(value) != 10:
            raise ValueError
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=flag) from None
    if not 1970 <= day.year <= 2999:
        raise click.BadParameter("must be between 1970 and 2999", param_hint=flag)
    return int(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp())


@click.command(name="import")
@click.argument("provider", type=click.Choice(["openai", "anthropic", "groq"]))
@click.option("--since", required=True, help="First UTC day to import (YYYY-MM-DD).")
@click.option("--until", default=None, help="Last UTC day to import, inclusive (default: today).")
@click.pass_context
def command(ctx: click.Context, provider: str, since: str, until: str | None) -> None:
    """Import a provider's usage and cost reports (needs its organisation admin key)."""
    from tqdm import tqdm

    from llmledger.commands.environment import open_ledger
    from llmledger.providers.errors import ReportError
    from llmledger.providers.imports import run_import

    start = _day("--since", since)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    end = _day("--until", until or today) + DAY_S
    if end <= start:
        raise click.BadParameter("must not be before --since", param_hint="--until")
    ledger = open_ledger(ctx.obj)
    bar = tqdm(desc=f"{provider}: pages", unit=" pages", file=sys.stderr)

    def on_page(path: str, number: int) -> None:
        bar.set_postfix_str(f"{path} page {number}", refresh=False)
        bar.update(1)

    try:
        done = run_import(
            ledger.engine, ledger.settings, provider, start_day=start, end_day=end, on_page=on_page
        )
    except ReportError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        bar.close()
        ledger.close()
    days = (end - start) // DAY_S
    click.echo(
        f"{provider}: imported {days} days ({since} to {until or today}): "
        f"{done.usage_rows} usage rows, {done.cost_rows} cost rows, "
        f"{done.metric_rows} metric rows (run {done.id})"
    )


#: registered by ``cli.py`` with the command groups
group = command
