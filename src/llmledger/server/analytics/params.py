"""The parameters every analytics endpoint shares, as FastAPI dependencies.

Filters are scoped here, once, with ``scope_org``: an admin sees the organisation asked for (or
all), a scoped caller only its own (404 for another). A value that cannot be answered is a 422
that names the parameter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request

from llmledger.analytics.errors import ParamError
from llmledger.analytics.filters import Filters, clean_label, make_filters
from llmledger.analytics.window import Window, parse_window
from llmledger.server.deps import ReaderDep, scope_org
from llmledger.store.retention import retention_cutoff_us
from llmledger.store.rows import to_us

LABEL = 256
Label = Annotated[str | None, Query(max_length=LABEL)]


@contextmanager
def as_422() -> Iterator[None]:
    """Turn a ``ParamError`` from the analytics layer into a 422 naming the parameter."""
    try:
        yield
    except ParamError as exc:
        raise HTTPException(422, str(exc)) from None


def dimension_filters(
    provider: Label = None,
    model: Label = None,
    agent: Label = None,
    user_id: Annotated[str | None, Query(alias="userId", max_length=LABEL)] = None,
    operation: Label = None,
    tier: Label = None,
    success: bool | None = None,
) -> Filters:
    """Every filter but the organisation (for endpoints whose path names it)."""
    with as_422():
        return make_filters(
            provider=provider,
            model=model,
            agent=agent,
            user_id=user_id,
            operation=operation,
            tier=tier,
            success=success,
        )


DimensionsDep = Annotated[Filters, Depends(dimension_filters)]


def scoped_org(principal: ReaderDep, requested: str | None) -> str | None:
    with as_422():
        org = clean_label("orgId", requested)
    return scope_org(principal, org)


def filters(
    principal: ReaderDep,
    dims: DimensionsDep,
    org_id: Annotated[str | None, Query(alias="orgId", max_length=LABEL)] = None,
) -> Filters:
    return dims.with_org(scoped_org(principal, org_id))


FiltersDep = Annotated[Filters, Depends(filters)]


def now(request: Request) -> dt.datetime:
    clock = request.app.state.clock
    moment: dt.datetime = clock()
    return moment


NowDep = Annotated[dt.datetime, Depends(now)]


@dataclass(frozen=True)
class Dates:
    start: str | None
    end: str | None
    now: dt.datetime
    #: the retention cutoff: raw events before it may be pruned
    raw_from_us: int = 0

    def window(self, *, default_start: dt.datetime | None = None) -> Window:
        with as_422():
            return parse_window(
                self.start,
                self.end,
                now=self.now,
                default_start=default_start,
                raw_from_us=self.raw_from_us,
            )

    @property
    def given(self) -> bool:
        return bool(self.start or self.end)


def dates(
    request: Request,
    now: NowDep,
    start_date: Annotated[
        str | None,
        Query(
            alias="startDate",
            max_length=40,
            description="ISO date (a whole UTC day) or datetime; default: start of this month.",
        ),
    ] = None,
    end_date: Annotated[
        str | None,
        Query(
            alias="endDate",
            max_length=40,
            description="ISO date (inclusive, a whole UTC day) or datetime; default: now.",
        ),
    ] = None,
) -> Dates:
    retention_days = request.app.state.settings.retention_days
    return Dates(start_date, end_date, now, retention_cutoff_us(to_us(now), retention_days))


DatesDep = Annotated[Dates, Depends(dates)]


def window(d: DatesDep) -> Window:
    return d.window()


WindowDep = Annotated[Window, Depends(window)]
