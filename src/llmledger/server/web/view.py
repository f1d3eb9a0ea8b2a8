"""A page's state, read from its URL: the date range (a preset or custom dates), the
organisation scope, the filters, and whatever else a page keeps there (sort, page, grouping).

Everything a page shows is a function of its URL, so links can be shared, the back button works
and a reload shows the same thing. The parameters are the API's own (``startDate``,
``endDate``, ``orgId``, ``provider``, ...), plus ``range`` for a preset that moves with the
clock ("the last 7 days" stays the last 7 days).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from llmledger.analytics.errors import ParamError
from llmledger.analytics.filters import Filters, make_filters
from llmledger.analytics.window import Window, day_start, parse_window
from llmledger.server.web.errors import PageError

#: presets, in the order the header shows them
PRESETS = {
    "today": "Today",
    "7d": "7 days",
    "30d": "30 days",
    "mtd": "Month to date",
    "last-month": "Last month",
}
DEFAULT_RANGE = "mtd"
LABEL = 256
FILTER_PARAMS = ("orgId", "provider", "model", "agent", "userId", "operation", "tier", "success")


def preset_dates(preset: str, now: dt.datetime) -> tuple[str | None, str | None]:
    """``startDate``/``endDate`` of a preset at ``now`` (``None``: the API's default)."""
    today = day_start(now).date()
    if preset == "today":
        return today.isoformat(), None
    if preset in ("7d", "30d"):
        days = 7 if preset == "7d" else 30
        return (today - dt.timedelta(days=days - 1)).isoformat(), None
    if preset == "last-month":
        last_day = today.replace(day=1) - dt.timedelta(days=1)
        return last_day.replace(day=1).isoformat(), last_day.isoformat()
    return today.replace(day=1).isoformat(), None  # month to date


@dataclass(frozen=True)
class View:
    path: str
    params: dict[str, str]
    range: str  # a preset, or "custom"
    start: str | None  # what the API's startDate would be
    end: str | None
    window: Window
    now: dt.datetime

    def get(self, name: str) -> str | None:
        value = self.params.get(name)
        return value if value not in (None, "") else None

    def url(self, path: str | None = None, *, keep: bool = True, **changes: object) -> str:
        """This page's URL (or ``path``'s, with this view's state) with ``changes`` applied;
        ``None`` removes a parameter. ``keep=False`` keeps only range and scope."""
        base = dict(self.params) if keep else self.shared()
        for key, value in changes.items():
            if value is None:
                base.pop(key, None)
            else:
                base[key] = str(value)
        query = urlencode({k: v for k, v in base.items() if v != ""})
        return (path or self.path) + (f"?{query}" if query else "")

    def shared(self) -> dict[str, str]:
        """What every link carries from page to page: the range and the scope."""
        keep = ("range", "startDate", "endDate", "orgId")
        return {k: v for k, v in self.params.items() if k in keep and v}

    def range_url(self, preset: str) -> str:
        return self.url(range=preset, startDate=None, endDate=None, cursor=None, offset=None)

    def api_params(self, **extra: object) -> dict[str, str]:
        """The query an API endpoint needs for the same range and filters."""
        out = {"startDate": self.start, "endDate": self.end}
        out.update({k: self.params.get(k) for k in FILTER_PARAMS})
        out.update({k: None if v is None else str(v) for k, v in extra.items()})
        return {k: v for k, v in out.items() if v}

    def api_url(self, path: str, **extra: object) -> str:
        query = urlencode(self.api_params(**extra))
        return f"/api/v1/admin/llm-costs{path}" + (f"?{query}" if query else "")


def _label(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is None or value.strip() == "":
        return None
    if len(value) > LABEL:
        raise PageError(422, f"{name}: at most {LABEL} characters")
    return value


def read_view(
    path: str, params: Mapping[str, str], now: dt.datetime, *, raw_from_us: int = 0
) -> View:
    """The view a URL asks for; a value that cannot be answered is a 422 naming it.
    ``raw_from_us`` is where raw events begin (the retention cutoff), as the API's windows
    know it, so a page counts a range exactly as its endpoint does."""
    clean = {k: v for k, v in params.items() if v is not None}
    start, end = _label(clean, "startDate"), _label(clean, "endDate")
    preset = clean.get("range") or DEFAULT_RANGE
    if start or end:
        preset = "custom"
    elif preset not in PRESETS:
        raise PageError(422, f"range: must be one of {', '.join(PRESETS)} (or give startDate)")
    else:
        start, end = preset_dates(preset, now)
    try:
        window = parse_window(start, end, now=now, raw_from_us=raw_from_us)
    except ParamError as exc:
        raise PageError(422, str(exc)) from None
    return View(path, dict(clean), preset, start, end, window, now)


def read_filters(
    view: View, org_id: str | None, *, fields: tuple[str, ...] = FILTER_PARAMS
) -> Filters:
    """The filters of ``fields`` from the URL, with ``org_id`` as the (already scoped) org."""
    p = view.params
    success = p.get("success") if "success" in fields else None
    if success not in (None, "", "true", "false"):
        raise PageError(422, "success: must be true or false")
    try:
        filters = make_filters(
            **{
                name: _label(p, param) if param in fields else None
                for name, param in (
                    ("provider", "provider"),
                    ("model", "model"),
                    ("agent", "agent"),
                    ("user_id", "userId"),
                    ("operation", "operation"),
                    ("tier", "tier"),
                )
            },
            success=None if not success else success == "true",
        )
    except ParamError as exc:
        raise PageError(422, str(exc)) from None
    return filters.with_org(org_id)
