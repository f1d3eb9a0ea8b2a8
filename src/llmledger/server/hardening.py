"""Hardening middleware: security headers on every answer, and a size limit on request bodies.

Both are plain ASGI middleware (no ``BaseHTTPMiddleware``), so streamed answers such as the CSV
export pass through untouched.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
#: ``/api/reference`` is one self-contained page with inline script and style; nothing is
#: loaded from outside (``/docs`` redirects to it; Swagger UI and ReDoc are off)
_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
_DOCS = ("/docs", "/redoc", "/api/reference")
_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        csp = _DOCS_CSP if path.startswith(_DOCS) else _CSP
        extra = [*_ALWAYS, (b"content-security-policy", csp.encode())]
        if scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", b"max-age=31536000"))
        if path.startswith("/api/"):
            extra.append((b"cache-control", b"no-store"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in extra if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: routes that read and limit their own bodies (ingest: ``LLMLEDGER_MAX_BODY_BYTES``); extend
#: ``app.state.own_body_limit_paths`` for more
OWN_LIMIT = frozenset({"/api/v1/events"})


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        {"detail": f"request body is larger than the limit of {limit} bytes"}, status_code=413
    )


class BodyLimit:
    """Refuse bodies over ``LLMLEDGER_MAX_REQUEST_BYTES`` with 413 before any route sees them.

    The body is read here (it is small by definition) and handed on, so a route can never
    start on a body that later turns out too large.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope["app"].state if scope["type"] == "http" else None
        if (
            state is None
            or scope["method"] not in _BODY_METHODS
            or scope["path"] in OWN_LIMIT
            or scope["path"] in getattr(state, "own_body_limit_paths", ())
        ):
            await self.app(scope, receive, send)
            return
        limit: int = state.settings.max_request_bytes
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and not declared.isdigit():
            bad = JSONResponse({"detail": "Content-Length must be a number"}, status_code=400)
            await bad(scope, receive, send)
            return
        if declared is not None and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        chunks: list[Message] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                chunks.append(message)  # the client went away; let the app see it
                break
            size += len(message.get("body", b""))
            if size > limit:
                await _too_large(limit)(scope, receive, send)
                return
            chunks.append(message)
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return chunks.pop(0) if chunks else await receive()

        await self.app(scope, replay, send)
