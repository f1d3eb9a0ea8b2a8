"""Static files: our own (``server/static/``) and the charting library that ships inside the
``plotly`` package, served under content-hashed names, gzip-compressed, cached for a year.

A file's URL changes whenever its bytes do, so a browser may keep it for ever and never asks
twice; nothing is fetched from anywhere else, at run time or build time. Files are read,
hashed and compressed once per process, on first use.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

router = APIRouter(include_in_schema=False)

#: the icon browsers ask for on their own; a day's cache, since its name cannot change
ICON = "icon.ico"
YEAR = 31_536_000


@dataclass(frozen=True)
class Asset:
    name: str  # the hashed name it is served under
    body: bytes
    gzipped: bytes
    media_type: str
    etag: str


def _static_dir() -> Path:
    return Path(str(resources.files("llmledger.server") / "static"))


def _plotly() -> Path:
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


def _sources() -> dict[str, Path]:
    """Logical name (what templates ask for) -> file."""
    found = {p.name: p for p in sorted(_static_dir().iterdir()) if p.is_file()}
    found["plotly.min.js"] = _plotly()
    return found


def _hashed(logical: str, digest: str) -> str:
    stem, dot, ext = logical.partition(".")
    return f"{stem}.{digest[:12]}{dot}{ext}"


@cache
def catalog() -> dict[str, Asset]:
    """Every asset by logical name (read and compressed once per process)."""
    out = {}
    for logical, path in _sources().items():
        body = path.read_bytes()
        digest = hashlib.sha256(body).hexdigest()
        media = mimetypes.guess_type(logical)[0] or "application/octet-stream"
        if logical.endswith(".ico"):
            media = "image/x-icon"
        if media.startswith("text/") or media.endswith("javascript"):
            media += "; charset=utf-8"
        out[logical] = Asset(
            _hashed(logical, digest), body, gzip.compress(body, 9, mtime=0), media, digest[:32]
        )
    return out


@cache
def _by_hashed_name() -> dict[str, Asset]:
    return {a.name: a for a in catalog().values()}


def static_url(logical: str) -> str:
    """The URL of a static file by its plain name (``app.css`` -> ``/static/app.<hash>.css``)."""
    return f"/static/{catalog()[logical].name}"


def our_own() -> dict[str, Asset]:
    """Our CSS and JavaScript (the charting library aside): what the size budget counts."""
    return {k: a for k, a in catalog().items() if k.endswith((".css", ".js")) and "plotly" not in k}


def _answer(request: Request, asset: Asset, max_age: int) -> Response:
    headers = {
        "Cache-Control": f"public, max-age={max_age}" + (", immutable" if max_age == YEAR else ""),
        "ETag": f'"{asset.etag}"',
        "Vary": "Accept-Encoding",
    }
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    body = asset.body
    if "gzip" in request.headers.get("accept-encoding", ""):
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=asset.media_type, headers=headers)


@router.get("/static/{name}")
def get_static(request: Request, name: str) -> Response:
    asset = _by_hashed_name().get(name)
    if asset is None:
        raise HTTPException(404, "no such file")
    return _answer(request, asset, YEAR)


@router.get("/favicon.ico")
def get_favicon(request: Request) -> Response:
    return _answer(request, catalog()[ICON], 86_400)
