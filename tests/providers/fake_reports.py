"""A fake OpenAI + Anthropic admin API on 127.0.0.1 serving the documented report shapes from
fixture buckets, a few buckets a page (so every report takes several pages), with scripted
faults: ``fail`` is a list of (path part, status, Retry-After) answered once each, in order,
by the first matching requests; ``always_fail`` answers a status for a path part for good."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.fake_http import JsonHandler, serving

OPENAI_KEY = "sk-admin-test-openai"
ANTHROPIC_KEY = "sk-ant-admin-test"
PER_PAGE = 2
#: the ``group_by`` values each OpenAI report accepts (its OpenAPI spec); others answer 400
_TOKENS = {"project_id", "user_id", "api_key_id", "model"}
OPENAI_GROUP_BY: dict[str, set[str]] = {
    "/organization/usage/completions": _TOKENS | {"batch", "service_tier"},
    "/organization/usage/embeddings": _TOKENS,
    "/organization/usage/moderations": _TOKENS,
    "/organization/usage/audio_speeches": _TOKENS,
    "/organization/usage/audio_transcriptions": _TOKENS,
    "/organization/usage/images": _TOKENS | {"size", "source"},
    "/organization/usage/vector_stores": {"project_id"},
    "/organization/usage/code_interpreter_sessions": {"project_id"},
    "/organization/costs": {"project_id", "line_item", "api_key_id"},
}


@dataclass
class Script:
    #: path → the buckets it serves, oldest first
    buckets: dict[str, list[dict[str, Any]]]
    fail: list[tuple[str, int, str | None]] = field(default_factory=list)
    always_fail: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)
    #: requests whose path holds ``gate`` wait for ``release``; ``arrived`` is set when one does
    gate: str | None = None
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


def _page(buckets: list[dict[str, Any]], page: str | None) -> dict[str, Any]:
    start = int(base64.b64decode(page).decode()) if page else 0
    chunk = buckets[start : start + PER_PAGE]
    more = start + PER_PAGE < len(buckets)
    cursor = base64.b64encode(str(start + PER_PAGE).encode()).decode() if more else None
    return {"object": "page", "data": chunk, "has_more": more, "next_page": cursor}


@contextmanager
def serve(script: Script) -> Iterator[str]:
    lock = threading.Lock()

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            with lock:
                script.requests.append((url.path, query))
                fault = next((f for f in script.fail if f[0] in url.path), None)
                if fault is not None:
                    script.fail.remove(fault)
            if script.gate is not None and script.gate in url.path:
                script.arrived.set()
                script.release.wait(60)
            if fault is not None:
                self._send(fault[1], {"error": {"message": "scripted"}}, retry_after=fault[2])
                return
            for part, status in script.always_fail.items():
                if part in url.path:
                    self._send(status, {"error": {"message": "scripted for good"}})
                    return
            anthropic = url.path.startswith("/v1/organizations/")
            if anthropic:
                ok = self.headers.get("x-api-key") == ANTHROPIC_KEY
                ok = ok and self.headers.get("anthropic-version") == "2023-06-01"
            else:
                ok = self.headers.get("Authorization") == f"Bearer {OPENAI_KEY}"
            if not ok:
                self._send(401, {"error": {"message": "invalid admin key"}})
                return
            buckets = script.buckets.get(url.path.removeprefix("/v1"))
            if buckets is None and url.path.removeprefix("/v1") in OPENAI_GROUP_BY:
                buckets = []  # a report the script gives nothing: an organisation without it
            if buckets is None:
                self._send(404, {"error": {"message": "no such report"}})
                return
            allowed = OPENAI_GROUP_BY.get(url.path.removeprefix("/v1"))
            refused = set(query.get("group_by[]", [])) - (allowed or set())
            if not anthropic and refused:
                self._send(400, {"error": {"message": f"invalid group_by: {sorted(refused)}"}})
                return
            page = _page(buckets, (query.get("page") or [None])[0])
            if anthropic:
                del page["object"]
            self._send(200, page)

        def _send(self, status: int, body: Any, retry_after: str | None = None) -> None:
            self.send_json(status, body, {"Retry-After": retry_after} if retry_after else None)

    with serving(Handler) as origin:
        try:
            yield origin + "/v1"
        finally:
            script.release.set()  # no request is left waiting
