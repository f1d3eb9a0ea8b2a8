"""The filters every analytics question takes, and which stored dimension each one narrows.

A filter value equals a stored attribution exactly. Stored attributions are stripped of
surrounding whitespace on ingest and providers are lower-cased, so filter values are treated the
same way. ``userId`` is the one filter that is not a rollup dimension (see ``source``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from llmledger.analytics.errors import ParamError

#: filters that are dimensions of the hour/day rollups, in rollup column order
ROLLUP_FILTERS = ("org_id", "provider", "model", "agent", "operation", "tier")

#: each filter's query parameter (camelCase), used in error messages
PARAMS = {
    "org_id": "orgId",
    "provider": "provider",
    "model": "model",
    "agent": "agent",
    "user_id": "userId",
    "operation": "operation",
    "tier": "tier",
    "success": "success",
}


class FilterError(ParamError):
    """A filter value that no stored value could ever equal."""


@dataclass(frozen=True, slots=True)
class Filters:
    """Equality filters; ``None`` means "any"."""

    org_id: str | None = None
    provider: str | None = None
    model: str | None = None
    agent: str | None = None
    user_id: str | None = None
    operation: str | None = None
    tier: str | None = None
    success: bool | None = None

    def labels(self) -> dict[str, str]:
        """The string filters that are set, by column name."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str):
                out[f.name] = value
        return out

    @property
    def beyond_org_and_user(self) -> bool:
        """Whether any filter other than organisation and user is set."""
        return any(
            getattr(self, name) is not None
            for name in ("provider", "model", "agent", "operation", "tier", "success")
        )

    def with_org(self, org_id: str | None) -> Filters:
        return replace(self, org_id=org_id)


def clean_label(param: str, value: str | None) -> str | None:
    """A filter value as stored values look: stripped; NUL and empty values are refused."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        raise FilterError(param, "must not be empty")
    if "\x00" in text:
        raise FilterError(param, "must not contain NUL characters")
    return text


def make_filters(
    *,
    org_id: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    agent: str | None = None,
    user_id: str | None = None,
    operation: str | None = None,
    tier: str | None = None,
    success: bool | None = None,
) -> Filters:
    """Validated ``Filters`` from raw parameter values (raises ``FilterError``)."""
    cleaned = {
        name: clean_label(PARAMS[name], value)
        for name, value in (
            ("org_id", org_id),
            ("provider", provider),
            ("model", model),
            ("agent", agent),
            ("user_id", user_id),
            ("operation", operation),
            ("tier", tier),
        )
    }
    if cleaned["provider"] is not None:
        cleaned["provider"] = cleaned["provider"].lower()
    return Filters(**cleaned, success=success)
