"""``llmledger alerts``: the budget alert rules, one round of them, test messages and the
history of firings (docs/alerts.md). A test message is audited as ``cli:<login name>``."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import click

from llmledger.settings import Settings

if TYPE_CHECKING:
    from llmledger.alerts.evaluate import Evaluation
    from llmledger.alerts.rules import Rule
    from llmledger.ledger import Ledger


@click.group(name="alerts")
def group() -> None:
    """Budget alerts: rules, their live state, test messages, what fired."""


def _ledger(ctx: click.Context) -> Ledger:
    from llmledger.commands.environment import open_ledger

    settings: Settings = ctx.obj
    return open_ledger(settings)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _scope(rule: Rule) -> str:
    return ", ".join(f"{k}={v}" for k, v in rule.scope.items()) or "global"


def _channels(rule: Rule) -> str:
    names = []
    if rule.notification_emails:
        names.append(f"email({len(rule.notification_emails)})")
    if rule.slack_webhook_url:
        names.append("slack")
    if rule.webhook_url:
        names.append("webhook")
    return ",".join(names) or "-"


def _shown(ev: Evaluation, amount: int | float | None) -> str:
    value = ev.shown(amount)
    if value is None:
        return "-"
    return f"{value:.4g}%" if ev.unit == "percent" else f"${value:,.2f}"


@group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the rules as JSON.")
@click.pass_context
def list_rules(ctx: click.Context, as_json: bool) -> None:
    """Every rule with its live state: id, state, name, type, scope, value of threshold,
    channels (inactive rules: state off)."""
    from llmledger.alerts.check import raw_from
    from llmledger.alerts.evaluate import evaluate
    from llmledger.alerts.rulebook import list_rules as stored
    from llmledger.alerts.rules import rule_json

    ledger = _ledger(ctx)
    now = _now()
    try:
        with ledger.engine.connect() as conn:
            rules = stored(conn)
            active = [r for r in rules if r.is_active]
            states = {
                ev.rule.id: ev
                for ev in evaluate(
                    conn,
                    active,
                    now=now,
                    raw_from_us=raw_from(now, ledger.settings.retention_days),
                    drift_percent=ledger.settings.reconciliation_drift_percent,
                )
            }
    finally:
        ledger.close()
    if as_json:
        out = []
        for r in rules:
            ev = states.get(r.id)
            state = ev.as_json() if ev else None
            out.append({**rule_json(r), "state": state["state"] if state else None, "now": state})
        click.echo(json.dumps(out, indent=2))
        return
    if not rules:
        click.echo("no alert rules")
        return
    for r in rules:
        ev = states.get(r.id)
        shown = ev.state if ev else "off"
        figures = f"{_shown(ev, ev.value)} of {_shown(ev, ev.threshold)}" if ev else "-"
        click.echo(
            f"{r.id:>5}  {shown:<8}  {r.name}  [{r.alert_type}, {_scope(r)}]  {figures}  "
            f"channels: {_channels(r)}"
        )


@group.command("check")
@click.pass_context
def check(ctx: click.Context) -> None:
    """Run one alert round now: evaluate every active rule, fire those that crossed (once per
    period and level), then deliver the messages due. Safe beside running servers."""
    from llmledger.alerts.fire import message
    from llmledger.alerts.loop import alert_round

    ledger = _ledger(ctx)
    try:
        report = alert_round(ledger.engine, ledger.settings, now=_now())
    finally:
        ledger.close()
    counts = {s: sum(ev.state == s for ev in report.evaluations) for s in ("OK", "WARNING")}
    critical = len(report.evaluations) - counts["OK"] - counts["WARNING"]
    for ev in report.evaluations:
        if ev.state != "OK":
            click.echo(f"{ev.rule.id:>5}  {message(ev, ev.state)}")
    click.echo(
        f"{len(report.evaluations)} rules: {counts['OK']} OK, {counts['WARNING']} WARNING, "
        f"{critical} CRITICAL; {len(report.fired)} fired now; {report.sent} messages sent"
    )


@group.command("test")
@click.argument("rule_id", metavar="ID", type=click.IntRange(1, 2**31 - 1))
@click.pass_context
def test(ctx: click.Context, rule_id: int) -> None:
    """Send a test message, marked as one, to every channel of rule ID now; print each
    channel's result (exit 1 if any failed). Audited."""
    import dataclasses

    from llmledger.alerts import rulebook
    from llmledger.alerts.sender import send_test
    from llmledger.auth.audit import cli_audit

    ledger = _ledger(ctx)
    try:
        with ledger.engine.connect() as conn:
            rule = rulebook.get_rule(conn, rule_id)
        if rule is None:
            raise click.UsageError(f"no alert rule with id {rule_id} (see llmledger alerts list)")
        if not (rule.notification_emails or rule.slack_webhook_url or rule.webhook_url):
            raise click.UsageError(
                f"alert rule {rule_id} has no channels: set notificationEmails, "
                "slackWebhookUrl or webhookUrl first"
            )
        results = send_test(dataclasses.asdict(rule), ledger.settings)
        rulebook.record_test(
            ledger.engine, rule, [dataclasses.asdict(r) for r in results], audit=cli_audit()
        )
    finally:
        ledger.close()
    for r in results:
        click.echo(f"{r.channel:<8} {r.target}: {'ok' if r.ok else 'FAILED'} ({r.detail})")
    if not all(r.ok for r in results):
        ctx.exit(1)


@group.command("history")
@click.option("--rule", "rule_id", type=click.IntRange(1, 2**31 - 1), help="Only this rule.")
@click.option("--level", type=click.Choice(["WARNING", "CRITICAL"]), help="Only this level.")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the firings as JSON.")
@click.pass_context
def history(
    ctx: click.Context, rule_id: int | None, level: str | None, limit: int, as_json: bool
) -> None:
    """What fired, newest first, with each channel's delivery: sent, pending (and its last
    error) or given up."""
    from llmledger.alerts.history import history as firings

    ledger = _ledger(ctx)
    try:
        with ledger.engine.connect() as conn:
            found = firings(conn, rule_id=rule_id, level=level, limit=limit)
    finally:
        ledger.close()
    entries: list[dict[str, Any]] = found["firings"]
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    if not entries:
        click.echo("nothing has fired")
        return
    for f in entries:
        click.echo(f"#{f['id']} {f['firedAt']} rule {f['ruleId']}: {f['message']}")
        for d in f["deliveries"]:
            status = d["status"]
            if status == "pending" and d["lastError"]:
                status += f", next try {d['nextAttemptAt']}; last error: {d['lastError']}"
            elif status == "given_up":
                status += f"; last error: {d['lastError']}"
            click.echo(f"    {d['channel']:<8} {d['target']}: {status} ({d['attempts']} attempts)")
