"""What an alert says, in each channel's form: an email (subject, plain text, HTML), a Slack
message and the webhook's JSON body.

Everything comes from a firing's ``details`` (fixed when it fired, see ``alerts.tables``), so a
message sent an hour late by a retry says what was true when the rule fired. ``notice`` reads
the details once into a ``Notice`` of display-ready text; each channel's function presents it.
A test message (``test=True``, the rule's test button) is marked as one in every form.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import orjson

__all__ = [
    "WEBHOOK_SCHEMA_VERSION",
    "Notice",
    "email_content",
    "notice",
    "slack_payload",
    "webhook_body",
]

#: ``version`` of the webhook body; raised only when a field changes meaning or goes away
WEBHOOK_SCHEMA_VERSION = 1

TYPE_NAMES = {
    "daily_limit": "Daily limit",
    "weekly_limit": "Weekly limit",
    "monthly_limit": "Monthly limit",
    "cost_spike": "Cost spike",
    "forecast_overrun": "Forecast overrun",
    "error_rate": "Error rate",
    "reconciliation_drift": "Reconciliation drift",
}
#: the scope's keys, in the order messages name them, with their words
SCOPE_NAMES = {
    "orgId": "organisation",
    "agent": "agent",
    "userId": "user",
    "provider": "provider",
    "model": "model",
}


@dataclass(frozen=True)
class Notice:
    """A firing's details as the words of a message."""

    details: dict[str, Any]
    test: bool
    level: str
    rule_name: str
    type_name: str
    scope: str
    value: str
    threshold: str
    percent_used: str
    period: str
    message: str
    link: str
    contributors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def headline(self) -> str:
        """One line saying what crossed: the subject of an email, the title of a message."""
        test = "TEST — " if self.test else ""
        used = f" ({self.percent_used} used)" if self.percent_used else ""
        return f"{test}{self.level}: {self.rule_name} — {self.value} of {self.threshold}{used}"

    @property
    def facts(self) -> list[tuple[str, str]]:
        """The figures, as label and text, in the order every form shows them."""
        return [
            ("Alert", f"{self.type_name} ({self.level})"),
            ("Scope", self.scope),
            ("Value", self.value),
            ("Threshold", self.threshold),
            ("Used", self.percent_used or "—"),
            ("Period", self.period),
        ]


def notice(details: dict[str, Any], *, public_url: str | None, test: bool = False) -> Notice:
    """The words of a message about a firing with these ``details``."""
    unit = str(details.get("unit") or "usd")
    percent = details.get("percentUsed")
    return Notice(
        details=details,
        test=test,
        level=_text(details.get("level")) or "ALERT",
        rule_name=_one_line(_text(details.get("ruleName")) or "Budget alert"),
        type_name=TYPE_NAMES.get(str(details.get("alertType")), _text(details.get("alertType"))),
        scope=scope_text(details.get("scope")),
        value=amount_text(details.get("value"), unit),
        threshold=amount_text(details.get("threshold"), unit),
        percent_used="" if percent is None else amount_text(percent, "percent"),
        period=period_text(details.get("period")),
        message=_text(details.get("message")),
        link=absolute_link(public_url, details.get("link")),
        contributors=[_contributor(c, unit) for c in (details.get("contributors") or [])[:3]],
    )


# -- email -------------------------------------------------------------------------------------

_HTML = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!doctype html>
<html><body style="font-family:sans-serif;color:#1f2328">
{% if n.test %}<p style="background:#fff8c5;padding:8px;border:1px solid #d4a72c">
<strong>TEST MESSAGE</strong> — sent by the rule's test button; nothing crossed.</p>{% endif %}
<h2 style="color:{{ colour }}">{{ n.level }}: {{ n.rule_name }}</h2>
{% if n.message %}<p>{{ n.message }}</p>{% endif %}
<table cellpadding="4" style="border-collapse:collapse">
{% for label, text in n.facts %}<tr><th align="left">{{ label }}</th><td>{{ text }}</td></tr>
{% endfor %}</table>
{% if n.contributors %}<h3>Top contributors</h3><ol>
{% for name, text in n.contributors %}<li>{{ name }}: {{ text }}</li>
{% endfor %}</ol>{% endif %}
{% if n.link %}<p><a href="{{ n.link }}">Open the dashboard view</a></p>{% endif %}
</body></html>
"""
)


def email_content(n: Notice) -> tuple[str, str, str]:
    """``(subject, plain text, HTML)`` of the email about ``n``."""
    subject = f"[llmledger] {n.headline}"
    lines = []
    if n.test:
        lines += ["*** TEST MESSAGE — sent by the rule's test button; nothing crossed. ***", ""]
    lines += [f"{n.level}: {n.rule_name}", ""]
    if n.message:
        lines += [n.message, ""]
    lines += [f"{label}: {text}" for label, text in n.facts]
    if n.contributors:
        lines += ["", "Top contributors:"]
        lines += [f"  {i}. {name}: {text}" for i, (name, text) in enumerate(n.contributors, 1)]
    if n.link:
        lines += ["", f"Dashboard: {n.link}"]
    colour = "#cf222e" if n.level == "CRITICAL" else "#9a6700"
    return subject, "\n".join(lines) + "\n", _HTML.render(n=n, colour=colour)


# -- Slack -------------------------------------------------------------------------------------


def slack_payload(n: Notice) -> dict[str, Any]:
    """The JSON of a Slack incoming-webhook message: blocks, and ``text`` for notifications."""
    icon = ":rotating_light:" if n.level == "CRITICAL" else ":warning:"
    title = f"{':test_tube: TEST — ' if n.test else ''}{icon} {n.level}: {_slack(n.rule_name)}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*"}},
    ]
    if n.message:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _slack(n.message)}})
    blocks.append(
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{label}*\n{_slack(text)}"} for label, text in n.facts
            ],
        }
    )
    if n.contributors:
        top = "\n".join(
            f"{i}. {_slack(name)}: {_slack(text)}"
            for i, (name, text) in enumerate(n.contributors, 1)
        )
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Top contributors*\n{top}"}}
        )
    if n.link:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"<{n.link}|Open the dashboard view>"},
            }
        )
    if n.test:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": "Sent by the rule's test button; nothing crossed."}
                ],
            }
        )
    return {"text": _slack(n.headline), "blocks": blocks}


def _slack(text: str) -> str:
    """Text safe in Slack's mrkdwn: its three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- webhook -----------------------------------------------------------------------------------


def webhook_body(
    n: Notice,
    *,
    firing_id: int | None,
    delivery_id: int | None,
    fired_us: int,
) -> bytes:
    """The webhook's JSON body (schema in docs/alerts.md, "The webhook body")."""
    d = n.details
    period = d.get("period") or {}
    scope = d.get("scope") or {}
    body = {
        "version": WEBHOOK_SCHEMA_VERSION,
        "type": "alert.test" if n.test else "alert.fired",
        "test": n.test,
        "firingId": firing_id,
        "deliveryId": delivery_id,
        "firedAt": _iso(fired_us),
        "rule": {"id": d.get("ruleId"), "name": d.get("ruleName"), "type": d.get("alertType")},
        "level": d.get("level"),
        "scope": {key: scope.get(key) for key in SCOPE_NAMES},
        "period": {
            "key": period.get("key"),
            "start": _iso(period.get("start"), _zone(period.get("timezone"))),
            "end": _iso(period.get("end"), _zone(period.get("timezone"))),
            "timezone": period.get("timezone"),
        },
        "value": _decimal_text(d.get("value")),
        "threshold": _decimal_text(d.get("threshold")),
        "unit": d.get("unit"),
        "percentUsed": d.get("percentUsed"),
        "contributors": list((d.get("contributors") or [])[:3]),
        "message": d.get("message"),
        "link": n.link or None,
        "summary": n.headline,
    }
    return orjson.dumps(body)


# -- the pieces --------------------------------------------------------------------------------


def scope_text(scope: Any) -> str:
    """``organisation acme, model gpt-4o``; ``the whole platform`` when nothing narrows it."""
    scope = scope if isinstance(scope, dict) else {}
    parts = [f"{word} {scope[key]}" for key, word in SCOPE_NAMES.items() if scope.get(key)]
    return ", ".join(parts) if parts else "the whole platform"


def amount_text(value: Any, unit: str) -> str:
    """``$1,234.57``, ``$0.000042``, ``12.5%``; ``—`` for none."""
    number = _decimal(value)
    if number is None:
        return "—" if value is None else _text(value)
    if unit == "percent":
        return f"{number.quantize(Decimal('0.1')).normalize():f}%"
    if 0 < abs(number) < Decimal("0.01"):  # a fraction of a cent: up to six places
        return f"${number.quantize(Decimal('0.000001')).normalize():f}"
    return f"${number.quantize(Decimal('0.01')):,f}"


def period_text(period: Any) -> str:
    """``2026-12-07 (2026-12-07 00:00 to 2026-12-08 00:00 Europe/Paris)``."""
    if not isinstance(period, dict):
        return "—"
    zone = _zone(period.get("timezone"))
    zone_name = str(zone)
    start, end = _instant(period.get("start")), _instant(period.get("end"))
    key = _text(period.get("key"))
    if start is None or end is None:
        return key or "—"
    span = f"{start.astimezone(zone):%Y-%m-%d %H:%M} to {end.astimezone(zone):%Y-%m-%d %H:%M}"
    return f"{key} ({span} {zone_name})" if key else f"{span} {zone_name}"


def absolute_link(public_url: str | None, link: Any) -> str:
    """The dashboard link: ``LLMLEDGER_PUBLIC_URL`` and the details' relative link."""
    path = _text(link)
    if not path or path.startswith(("http://", "https://")):
        return path
    if not public_url:
        return path
    return public_url.rstrip("/") + "/" + path.lstrip("/")


def _contributor(item: Any, unit: str) -> tuple[str, str]:
    if not isinstance(item, dict):
        return _text(item), ""
    kind = item.get("dimension") or item.get("kind")
    name = _text(item.get("name") or item.get("key") or item.get("id"))
    word = SCOPE_NAMES.get(str(kind), _text(kind))
    label = f"{word} {name}".strip()
    value = item.get("value", item.get("costUsd"))
    text = amount_text(value, str(item.get("unit") or unit)) if value is not None else ""
    share = item.get("percent") or item.get("share")
    if share is not None:
        text += f" ({amount_text(share, 'percent')})"
    return label, text.strip()


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _decimal_text(value: Any) -> str | None:
    number = _decimal(value)
    return None if number is None else f"{number:f}"


def _instant(value: Any) -> dt.datetime | None:
    """A period bound: microseconds since the epoch, or an RFC 3339 text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value / 1_000_000, dt.UTC)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None


def _iso(value: Any, zone: dt.tzinfo = dt.UTC) -> str | None:
    """RFC 3339 in ``zone`` (``Z`` for UTC)."""
    instant = _instant(value)
    if instant is None:
        return None
    return instant.astimezone(zone).isoformat(timespec="seconds").replace("+00:00", "Z")


def _zone(name: Any) -> dt.tzinfo:
    try:
        return ZoneInfo(str(name or "UTC"))
    except (ValueError, KeyError, OSError):
        return dt.UTC


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _one_line(text: str) -> str:
    return " ".join(text.split())
