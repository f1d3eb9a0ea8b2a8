"""Fetching a provider's paged report: timeouts, retries on 429 and 5xx (honouring
``Retry-After``), a clear error for a refused key, and decimals kept exact (a JSON number is
read as a ``Decimal``, never a float)."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx

from llmledger.providers.errors import ReportError

#: query parameters in order (a repeated ``group_by[]`` is several)
Query = list[tuple[str, str | int | float | bool | None]]

ATTEMPTS = 5
#: longest wait between attempts, whatever ``Retry-After`` asks
MAX_WAIT_S = 60.0
#: most pages one report may take (a cursor that never ends is an error, not a hang)
MAX_PAGES = 10_000
TIMEOUT = httpx.Timeout(30.0, connect=10.0)

Sleep = Callable[[float], None]
#: told of each page fetched: the report's path and the page's number (1, 2, ...)
OnPage = Callable[[str, int], None]


def _wait(response: httpx.Response | None, attempt: int) -> float:
    header = response.headers.get("retry-after") if response is not None else None
    if header:
        try:
            return min(max(float(header), 0.0), MAX_WAIT_S)
        except ValueError:
            when = email.utils.parsedate_to_datetime(header)
            if when is not None:
                return min(max(when.timestamp() - time.time(), 0.0), MAX_WAIT_S)
    return min(0.5 * 2**attempt, MAX_WAIT_S)


class ReportClient:
    """GETs of one provider's admin API. ``transport`` and ``sleep`` are the test seams."""

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        headers: dict[str, str],
        key_hint: str,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleep = time.sleep,
        on_page: OnPage | None = None,
    ) -> None:
        self.provider = provider
        self.on_page = on_page
        self.key_hint = key_hint
        self.sleep = sleep
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={"User-Agent": "llmledger (report import)", **headers},
            timeout=TIMEOUT,
            transport=transport,
        )

    def __enter__(self) -> ReportClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def get(self, path: str, params: Query) -> dict[str, Any]:
        """One page of a report as JSON (numbers as ``Decimal``), after retries."""
        page = self.get_json(path, params)
        if not isinstance(page.get("data"), list):
            raise ReportError(f"{self.provider}: {path} answered a page without a data list")
        return page

    def get_json(self, path: str, params: Query) -> dict[str, Any]:
        """One JSON object (numbers as ``Decimal``), after retries."""
        response: httpx.Response | None = None
        for attempt in range(ATTEMPTS):
            try:
                response = self._http.get(path.lstrip("/"), params=params)
            except httpx.TransportError as exc:
                if attempt == ATTEMPTS - 1:
                    raise ReportError(
                        f"{self.provider}: {path} could not be reached ({exc})"
                    ) from None
                self.sleep(_wait(None, attempt))
                continue
            if response.status_code == 429 or response.status_code >= 500:
                if attempt < ATTEMPTS - 1:
                    self.sleep(_wait(response, attempt))
                    continue
                raise ReportError(
                    f"{self.provider}: {path} answered {response.status_code} "
                    f"{ATTEMPTS} times; try again later"
                )
            break
        assert response is not None
        if response.status_code in (401, 403):
            raise ReportError(
                f"{self.provider}: {path} answered {response.status_code}: this needs an "
                f"organisation admin key ({self.key_hint})"
            )
        if response.status_code != 200:
            raise ReportError(
                f"{self.provider}: {path} answered {response.status_code}: {response.text[:300]}"
            )
        try:
            page = json.loads(response.text, parse_float=Decimal)
        except ValueError:
            raise ReportError(f"{self.provider}: {path} did not answer JSON") from None
        if not isinstance(page, dict):
            raise ReportError(f"{self.provider}: {path} did not answer a JSON object")
        return page

    def pages(self, path: str, params: Query) -> Iterator[dict[str, Any]]:
        """Every page of a report, following ``next_page`` while ``has_more``."""
        cursor: str | None = None
        seen: set[str] = set()
        for number in range(1, MAX_PAGES + 1):
            page = self.get(path, params + ([("page", cursor)] if cursor else []))
            if self.on_page is not None:
                self.on_page(path, number)
            yield page
            cursor = page.get("next_page")
            if not page.get("has_more") or not cursor:
                return
            if cursor in seen:
                raise ReportError(f"{self.provider}: {path} sent the same next_page twice")
            seen.add(cursor)
        raise ReportError(f"{self.provider}: {path} has more than {MAX_PAGES} pages")
