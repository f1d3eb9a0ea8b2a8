"""Where a catalog sync reads its data: a URL, an uploaded file, an installed litellm's bundled
copy, or the pinned genai-prices package.

Nothing here imports litellm: its ``model_prices_and_context_window_backup.json`` is found
through ``importlib.util.find_spec``, which locates a package without running it.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from llmledger.pricing.bundled import bundled_rows, rows_from_genai_json
from llmledger.pricing.litellm import DEFAULT_MODES, Parsed, parse_catalog

SOURCES = ("litellm", "genai-prices")
LITELLM_BACKUP = "model_prices_and_context_window_backup.json"


class SourceError(ValueError):
    """The catalog could not be read (unreachable, too large, not JSON, wrong format);
    ``status`` is the HTTP answer: 422 for what was sent, 502 for a download that failed."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Loaded:
    """A catalog's parsed JSON (``None``: the pinned genai-prices package) and where it came
    from."""

    data: Any
    location: str
    sha256: str | None


def from_bytes(raw: bytes, location: str) -> Loaded:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SourceError(f"{location} is not JSON: {exc}") from None
    return Loaded(data, location, hashlib.sha256(raw).hexdigest())


def fetch_url(url: str, *, max_bytes: int, timeout: float = 30.0) -> bytes:
    """GET ``url`` (http or https), refusing answers larger than ``max_bytes``."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise SourceError(f"{url!r}: only http and https URLs can be synced from")
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=True) as client,
            client.stream("GET", url) as resp,
        ):
            if resp.status_code != 200:
                raise SourceError(f"{url} answered HTTP {resp.status_code}", 502)
            chunks, size = [], 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise SourceError(f"{url} is larger than {max_bytes} bytes", 502)
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise SourceError(f"{url} could not be fetched: {exc}", 502) from None
    return b"".join(chunks)


def installed_litellm_file() -> Path | None:
    """The catalog copy inside an installed litellm package, without importing litellm."""
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    dirs = list(spec.submodule_search_locations or ())
    if not dirs and spec.origin:
        dirs = [str(Path(spec.origin).parent)]
    for d in dirs:
        path = Path(d) / LITELLM_BACKUP
        if path.is_file():
            return path
    return None


def load(
    source: str,
    *,
    url: str | None = None,
    content: bytes | None = None,
    installed: bool = False,
    default_url: str,
    max_bytes: int,
) -> Loaded:
    """Read a catalog: uploaded ``content``, else an installed copy, else ``url`` (LiteLLM's
    default: ``default_url``). genai-prices without a URL or upload is the pinned package."""
    if source not in SOURCES:
        raise SourceError(f"unknown source {source!r}; one of {', '.join(SOURCES)}")
    if content is not None:
        if len(content) > max_bytes:
            raise SourceError(f"the uploaded file is larger than {max_bytes} bytes")
        return from_bytes(content, "upload")
    if installed:
        if source != "litellm":
            raise SourceError("only the litellm source has an installed copy to read")
        path = installed_litellm_file()
        if path is None:
            raise SourceError(f"litellm is not installed here (no {LITELLM_BACKUP} found)")
        return from_bytes(path.read_bytes(), str(path))
    if source == "genai-prices" and not url:
        return Loaded(None, f"genai-prices {_version('genai-prices')} (installed)", None)
    target = url or default_url
    return from_bytes(fetch_url(target, max_bytes=max_bytes), target)


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def parse(source: str, loaded: Loaded, *, modes: tuple[str, ...] = DEFAULT_MODES) -> Parsed:
    """Price rows from a loaded catalog (``litellm`` rows, or ``bundled`` rows for genai-prices)."""
    try:
        if source == "litellm":
            return parse_catalog(loaded.data, modes=modes)
        rows = bundled_rows() if loaded.data is None else rows_from_genai_json(loaded.data)
    except ValueError as exc:
        raise SourceError(f"{loaded.location}: {exc}") from None
    return Parsed(rows=rows)
