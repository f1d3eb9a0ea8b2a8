"""How ``llmledger serve`` runs uvicorn: with the timeouts and limits of the settings, and
trusting ``X-Forwarded-*`` only from the proxies named in ``LLMLEDGER_FORWARDED_ALLOW_IPS``
(the login throttle and the audit log take the client's address from there)."""

from __future__ import annotations

import contextlib
import sys
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from llmledger.server.http_limits import HttpLimits, protocol_for
from llmledger.settings import Settings


def trusted_proxies(settings: Settings) -> list[str]:
    return [p.strip() for p in settings.forwarded_allow_ips.split(",") if p.strip()]


def uvicorn_config(app: Any, settings: Settings, *, host: str, port: int) -> uvicorn.Config:
    proxies = trusted_proxies(settings)
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=settings.log_level,
        http=protocol_for(HttpLimits.of(settings)),
        timeout_keep_alive=settings.http_keep_alive_seconds,
        # uvicorn answers 503 once the count *reaches* its limit, this connection included
        limit_concurrency=settings.http_max_connections + 1,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies,
    )


def serve(app: Any, settings: Settings, *, host: str, port: int) -> None:
    """Serve until interrupted (as ``uvicorn.run`` does: exit 3 when it cannot start)."""
    config = uvicorn_config(app, settings, host=host, port=port)
    config.load_app()
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
