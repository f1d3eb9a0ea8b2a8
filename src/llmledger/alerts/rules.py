"""The rule contract: what a budget alert rule holds, how its API body is checked, and how it
is shown (credentials masked).

The API speaks camelCase (``thresholdCents``, ``notificationEmails``); the table and ``Rule``
snake_case. ``parse_rule`` checks a whole body (create) or the fields a change names (update)
and reports every bad field at once (``RuleError.errors``: field -> what is wrong). Slack and
webhook URLs and the webhook signing secret are credentials: ``rule_json`` shows their last
four characters only; the secret is shown whole once, in the answer that made it.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, overload

from sqlalchemy import Row

from llmledger.alerts.periods import zone
from llmledger.analytics.filters import FilterError, clean_label
from llmledger.analytics.window import iso
from llmledger.providers.reconcile import RECONCILED

LIMIT_TYPES = {"daily_limit": "day", "weekly_limit": "week", "monthly_limit": "month"}
MONEY_TYPES = (*LIMIT_TYPES, "forecast_overrun")
DRIFT = "reconciliation_drift"
ALERT_TYPES = (*MONEY_TYPES, "cost_spike", "error_rate", DRIFT)
#: the providers whose reports are imported and reconciled
DRIFT_PROVIDERS = RECONCILED
FREQUENCIES = ("once", "hourly", "every_check")
ACTIONS = ("notify", "block")
SCOPE = {"orgId": "org_id", "agent": "agent", "userId": "user_id", "provider": "provider"}
SCOPE["model"] = "model"
MAX_CENTS = 10**12  # $10bn: beyond any budget, and far inside a BIGINT of nano-dollars
MAX_EMAILS = 50
SECRET_PREFIX = "whsec_"

#: API name -> column, for every field a body may carry
FIELDS = {
    "name": "name",
    **SCOPE,
    "alertType": "alert_type",
    "thresholdCents": "threshold_cents",
    "warningPercent": "warning_percent",
    "spikePercent": "spike_percent",
    "minCostCents": "min_cost_cents",
    "thresholdPercent": "threshold_percent",
    "minRequests": "min_requests",
    "notificationEmails": "notification_emails",
    "slackWebhookUrl": "slack_webhook_url",
    "webhookUrl": "webhook_url",
    "notificationFrequency": "notification_frequency",
    "isActive": "is_active",
    "timezone": "timezone",
    "action": "action",
}
#: the fields each type uses, beyond the common ones; the others stay NULL
TYPE_FIELDS = {
    **{t: ("threshold_cents",) for t in MONEY_TYPES},
    "cost_spike": ("spike_percent", "min_cost_cents"),
    "error_rate": ("threshold_percent", "min_requests"),
    DRIFT: ("threshold_percent",),
}
#: the fields a type uses that may stay NULL: a drift rule without its own threshold follows
#: ``LLMLEDGER_RECONCILIATION_DRIFT_PERCENT``, as the reconciliation API does
TYPE_OPTIONAL = {DRIFT: ("threshold_percent",)}
#: why a reconciliation_drift rule takes no other scope than a provider, nor a zone or block
DRIFT_WHOLE_ACCOUNT = (
    "is not used by reconciliation_drift: reconciliation compares a provider's whole account, "
    "so a drift rule is the platform's (or one provider's)"
)
DEFAULTS: dict[str, Any] = {
    "warning_percent": 80,
    "spike_percent": 200,
    "min_cost_cents": 100,
    "min_requests": 20,
    "notification_emails": [],
    "notification_frequency": "once",
    "is_active": True,
    "timezone": "UTC",
    "action": "notify",
}


class RuleError(ValueError):
    """A rule body with bad fields: ``errors`` maps each API field to what is wrong."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


@dataclass(frozen=True, slots=True)
class Rule:
    id: int
    name: str
    org_id: str | None
    agent: str | None
    user_id: str | None
    provider: str | None
    model: str | None
    alert_type: str
    threshold_cents: int | None
    warning_percent: int
    spike_percent: int | None
    min_cost_cents: int | None
    threshold_percent: float | None
    min_requests: int | None
    notification_emails: list[str]
    slack_webhook_url: str | None
    webhook_url: str | None
    webhook_secret: str | None
    notification_frequency: str
    is_active: bool
    timezone: str
    action: str
    created_us: int
    updated_us: int

    @classmethod
    def from_row(cls, row: Row[Any] | Mapping[str, Any]) -> Rule:
        data = row._mapping if isinstance(row, Row) else row
        values = {f.name: data[f.name] for f in fields(cls)}
        values["notification_emails"] = list(values["notification_emails"] or [])
        values["is_active"] = bool(values["is_active"])
        return cls(**values)

    @property
    def scope(self) -> dict[str, str]:
        """The scope's set fields, by API name (empty: the whole platform)."""
        out = {}
        for api, column in SCOPE.items():
            value = getattr(self, column)
            if value is not None:
                out[api] = value
        return out

    @property
    def scope_columns(self) -> tuple[str, ...]:
        """The scope's shape: which columns it sets, in a fixed order."""
        return tuple(c for c in SCOPE.values() if getattr(self, c) is not None)

    @property
    def threshold_nanos(self) -> int | None:
        return None if self.threshold_cents is None else self.threshold_cents * 10_000_000


@overload
def mask(value: str) -> str: ...
@overload
def mask(value: None) -> None: ...
def mask(value: str | None) -> str | None:
    """A credential shown by its last four characters: ``****abcd`` (``****`` alone for one
    too short to show any of it). Every answer, the history, the audit log and the test
    button's results show credentials so."""
    if value is None:
        return None
    return "****" + value[-4:] if len(value) > 8 else "****"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def rule_json(rule: Rule, *, secret: str | None = None) -> dict[str, Any]:
    """The API shape of ``rule``. ``secret``: the webhook secret just made, shown whole once."""
    out: dict[str, Any] = {"id": rule.id}
    for api, column in FIELDS.items():
        out[api] = getattr(rule, column)
    out["slackWebhookUrl"] = mask(rule.slack_webhook_url)
    out["webhookUrl"] = mask(rule.webhook_url)
    out["webhookSecret"] = secret if secret is not None else mask(rule.webhook_secret)
    out["scope"] = rule.scope
    out["createdAt"] = iso(rule.created_us)
    out["updatedAt"] = iso(rule.updated_us)
    return out


def audit_json(rule: Rule | None) -> dict[str, Any] | None:
    """What the audit log keeps of a rule: its shape, credentials masked."""
    return None if rule is None else rule_json(rule)


# -- checking a body ----------------------------------------------------------------------


def _int(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole number")
    if not low <= value <= high:
        raise ValueError(f"must be between {low} and {high}")
    return value


def _text(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    text = value.strip()
    if not text:
        raise ValueError("must not be empty")
    if len(text) > limit:
        raise ValueError(f"must be at most {limit} characters")
    if any(ord(c) < 32 for c in text):
        raise ValueError("must not contain control characters")
    return text


def _choice(value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)}")
    return str(value)


def _scope_value(api: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("must be a string or null")
    if len(value) > 256:
        raise ValueError("must be at most 256 characters")
    try:
        text = clean_label(api, value)
    except FilterError as exc:
        raise ValueError(str(exc).removeprefix(f"{api}: ")) from None
    return text.lower() if api == "provider" and text else text


def _emails(value: Any) -> list[str]:
    from llmledger.alerts.destinations import validate_email

    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("must be a list of email addresses")
    if len(value) > MAX_EMAILS:
        raise ValueError(f"must hold at most {MAX_EMAILS} addresses")
    out: list[str] = []
    for i, entry in enumerate(value):
        if not isinstance(entry, str):
            raise ValueError(f"entry {i + 1} must be a string")
        try:
            address = validate_email(entry)
        except ValueError as exc:
            raise ValueError(f"entry {i + 1}: {exc}") from None
        if address not in out:
            out.append(address)
    return out


def _url(value: Any, *, allow_private: bool) -> str | None:
    from llmledger.alerts.destinations import validate_webhook_url

    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("must be a URL string or null")
    if len(value) > 2048:
        raise ValueError("must be at most 2048 characters")
    return validate_webhook_url(value, allow_private=allow_private)


def _percent(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    if not 0 < value <= 100:
        raise ValueError("must be above 0 and at most 100")
    return float(value)


def _check(api: str, value: Any, *, allow_private: bool) -> Any:
    """``value`` of the API field ``api`` as stored (``ValueError``: what is wrong)."""
    if api == "name":
        return _text(value, 200)
    if api in SCOPE:
        return _scope_value(api, value)
    if api == "alertType":
        return _choice(value, ALERT_TYPES)
    if api in ("thresholdCents", "minCostCents", "warningPercent", "spikePercent", "minRequests"):
        if value is None:
            return None
        low = 0 if api == "minCostCents" else 1
        high = {"warningPercent": 100, "spikePercent": 100_000, "minRequests": 10**9}
        return _int(value, low, high.get(api, MAX_CENTS))
    if api == "thresholdPercent":
        return None if value is None else _percent(value)
    if api == "notificationEmails":
        return _emails(value)
    if api in ("slackWebhookUrl", "webhookUrl"):
        return _url(value, allow_private=allow_private)
    if api == "notificationFrequency":
        return _choice(value, FREQUENCIES)
    if api == "isActive":
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if api == "timezone":
        if not isinstance(value, str):
            raise ValueError("must be an IANA timezone name (e.g. Europe/Berlin)")
        zone(value)
        return value
    if api == "action":
        return _choice(value, ACTIONS)
    raise AssertionError(api)


@dataclass(frozen=True, slots=True)
class Parsed:
    """A checked body: every column of the rule as it is to be stored, and the webhook secret
    made for it (if any: shown once)."""

    values: dict[str, Any]
    secret: str | None


#: the columns only some types use (``TYPE_FIELDS``); NULL for the others
_TYPED = ("threshold_cents", "spike_percent", "min_cost_cents", "threshold_percent", "min_requests")
_API = {column: api for api, column in FIELDS.items()}


def parse_rule(body: Any, *, current: Rule | None = None, allow_private: bool = False) -> Parsed:
    """The columns of a rule made from ``body`` (``current`` is None) or changed by it (the
    fields it names; null clears an optional field, or restores a default). Every bad field is
    reported at once.

    A webhook URL gets a fresh signing secret when it is set or changed, or when the body has
    ``rotateWebhookSecret: true``."""
    if not isinstance(body, Mapping):
        raise RuleError({"body": "must be a JSON object"})
    errors: dict[str, str] = {}
    given: dict[str, Any] = {}
    for api, value in body.items():
        if api == "rotateWebhookSecret":
            if not isinstance(value, bool):
                errors[api] = "must be true or false"
            continue
        column = FIELDS.get(api)
        if column is None:
            errors[str(api)[:64]] = "is not a field of an alert rule"
            continue
        try:
            given[column] = _check(api, value, allow_private=allow_private)
        except ValueError as exc:
            errors[api] = str(exc)
    if current is None:
        for api in ("name", "alertType"):
            if body.get(api) is None:
                errors.setdefault(api, "is required")
        base: dict[str, Any] = {column: None for column in FIELDS.values()}
        base["webhook_secret"] = None
    else:
        base = {column: getattr(current, column) for column in (*FIELDS.values(), "webhook_secret")}
    merged = {**base, **given}
    for column, default in DEFAULTS.items():
        if merged[column] is None and column not in _TYPED:
            merged[column] = default
    kind = merged["alert_type"]
    if kind in TYPE_FIELDS:
        own = TYPE_FIELDS[kind]
        for column in _TYPED:
            if column not in own:
                if given.get(column) is not None:
                    errors[_API[column]] = f"is not used by {kind}"
                merged[column] = None
            elif merged[column] is None:
                if column in TYPE_OPTIONAL.get(kind, ()):
                    pass
                elif column in DEFAULTS:
                    merged[column] = DEFAULTS[column]
                else:
                    errors.setdefault(_API[column], f"is required for {kind}")
    if kind == DRIFT:
        _drift_only(merged, given, errors)
    if errors:
        raise RuleError(errors)
    secret = None
    if merged["webhook_url"] is None:
        merged["webhook_secret"] = None
    elif (
        body.get("rotateWebhookSecret") is True
        or merged["webhook_secret"] is None
        or (current is not None and merged["webhook_url"] != current.webhook_url)
    ):
        secret = merged["webhook_secret"] = new_secret()
    return Parsed(merged, secret)


def _drift_only(merged: dict[str, Any], given: dict[str, Any], errors: dict[str, str]) -> None:
    """What a reconciliation_drift rule may not hold: a scope narrower than a provider (kept
    from before a change of type too: clearing it would widen the rule unseen), a provider
    whose reports are not imported, blocking, and a zone other than UTC (reconciliation
    compares whole UTC days). A zone or ``block`` kept from another type falls back to the
    default, as the other types' unused fields are cleared."""
    for api, column in SCOPE.items():
        if api != "provider" and merged[column] is not None:
            errors.setdefault(api, DRIFT_WHOLE_ACCOUNT)
    provider = merged["provider"]
    if provider is not None and provider not in DRIFT_PROVIDERS:
        errors.setdefault(
            "provider",
            f"must be one of {', '.join(DRIFT_PROVIDERS)} for {DRIFT} "
            "(the providers whose reports are imported), or null for all of them",
        )
    if given.get("action") == "block":
        errors.setdefault("action", f"block is not used by {DRIFT}: a drift is no spend to stop")
    merged["action"] = "notify"
    if given.get("timezone") not in (None, "UTC"):
        errors.setdefault("timezone", f"must be UTC for {DRIFT}: reconciliation compares UTC days")
    merged["timezone"] = "UTC"
