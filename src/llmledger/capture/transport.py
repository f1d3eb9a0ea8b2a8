"""One POST of one gzipped batch to the collector, classified for the exporter.

Standard library only (``urllib``), so the SDK stays import-light and owns no connection pool.
"""

from __future__ import annotations

import email.utils
import gzip
import http.client
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from llmledger.capture.guard import log


@dataclass(frozen=True)
class Outcome:
    """``ok``: delivered; ``retry``: try again later (after ``retry_after`` if given);
    otherwise the collector refused the batch for good (``reason``)."""

    ok: bool
    retry: bool = False
    retry_after: float | None = None
    reason: str = ""
    answer: dict[str, Any] | None = None
    #: the collector said the batch is too large (413): smaller ones may pass
    too_large: bool = False


class Sender(Protocol):
    def send(self, body: bytes) -> Outcome: ...


def encode(events: list[dict[str, Any]]) -> bytes:
    """The gzipped request body for a batch (also the spool file's content). An event JSON
    cannot hold (an integer beyond 64 bits in its metadata) is left out and logged: the
    collector would refuse it, and it must not take the rest of its batch with it."""
    try:
        text = orjson.dumps({"events": events})
    except TypeError:
        text = orjson.dumps({"events": _encodable(events)})
    return gzip.compress(text, compresslevel=5)


def _encodable(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept = []
    for event in events:
        try:
            orjson.dumps(event)
        except TypeError as exc:
            log.warning(
                "llmledger: event %s is not sent: it cannot be written as JSON (%s)",
                event.get("eventId"),
                exc,
            )
        else:
            kept.append(event)
    return kept


def decode(body: bytes) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = orjson.loads(gzip.decompress(body))["events"]
    return events


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class HttpSender:
    def __init__(self, endpoint: str, api_key: str | None, timeout: float) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.headers = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "User-Agent": "llmledger-sdk",
        }
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"

    def send(self, body: bytes) -> Outcome:
        request = urllib.request.Request(
            self.endpoint, data=body, headers=self.headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                detail = exc.read()[:500].decode("utf-8", "replace")
                status = exc.code
                retry_after = retry_after_seconds(exc.headers.get("Retry-After"))
            if status == 429 or status >= 500:
                return Outcome(False, retry=True, retry_after=retry_after, reason=f"HTTP {status}")
            return Outcome(False, reason=f"HTTP {status}: {detail}", too_large=status == 413)
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timeout, DNS
            return Outcome(False, retry=True, reason=f"{type(exc).__name__}: {exc}")
        try:
            answer = orjson.loads(payload) if payload else {}
        except orjson.JSONDecodeError:
            answer = {}
        return Outcome(True, answer=answer if isinstance(answer, dict) else {})
