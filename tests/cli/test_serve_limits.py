"""Limits at the HTTP layer of a real ``llmledger serve`` on 127.0.0.1: a half-sent request is
closed, an oversize or overfull head is refused, connections are capped, HEAD /healthz."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from llmledger.server.serving import uvicorn_config
from llmledger.settings import Settings
from tests.support.live import free_port

READ_TIMEOUT_S = 2
MAX_CONNECTIONS = 3
DEADLINE_S = 60  # generous: the machine may be slow; the server's own timeout is 2 s


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The port of a ``llmledger serve`` with a short read timeout and few connections."""
    port = free_port()
    env = {
        **os.environ,
        "LLMLEDGER_DATA_DIR": str(tmp_path_factory.mktemp("serve") / "data"),
        "LLMLEDGER_LOG_LEVEL": "warning",
        "LLMLEDGER_HTTP_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT_S),
        "LLMLEDGER_HTTP_KEEP_ALIVE_SECONDS": "60",
        "LLMLEDGER_HTTP_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
    }
    env.pop("LLMLEDGER_DATABASE_URL", None)
    cmd = [sys.executable, "-m", "llmledger.cli", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "llmledger serve exited"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "llmledger serve did not start"
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(30)


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes | None:
    """Everything the server sends until it closes; ``None`` if it is still open at the
    deadline."""
    got = b""
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end:
        sock.settimeout(max(end - time.monotonic(), 0.01))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return None
        except ConnectionResetError:
            return got
        if not chunk:
            return got
        got += chunk
    return None


def _status(answer: bytes | None) -> int | None:
    if not answer:
        return None
    return int(answer.split(b" ", 2)[1])


@pytest.mark.slow
def test_half_sent_requests_are_closed(server: int) -> None:
    silent = _connect(server)  # connects, sends nothing
    half_head = _connect(server)
    half_head.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
    half_body = _connect(server)
    half_body.sendall(
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{"
    )
    try:
        answers = [_read_until_closed(s) for s in (silent, half_head, half_body)]
    finally:
        for s in (silent, half_head, half_body):
            s.close()
    assert answers[0] is not None and _status(answers[0]) in (None, 408), answers[0]
    assert answers[1] is not None and _status(answers[1]) == 408, answers[1]
    assert answers[2] is not None, "a half-sent body kept its connection open"


@pytest.mark.slow
@pytest.mark.parametrize(
    "head",
    [
        [b"X-Big: " + b"a" * 40_000],  # past 32 KiB in one field
        [b"X-Huge: " + b"a" * 1_000_000],  # far past it: refused before it is all parsed
        [f"X-N{i}: 1".encode() for i in range(200)],  # more than 100 fields
    ],
    ids=["40 KB header", "1 MB header", "200 headers"],
)
def test_an_oversize_head_is_refused(server: int, head: list[bytes]) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"\r\n".join(head) + b"\r\n\r\n"
    sock = _connect(server)
    try:
        # refused while still being sent, perhaps; the answer is read below all the same
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        answer = _read_until_closed(sock)
    finally:
        sock.close()
    assert answer is not None and _status(answer) == 431, answer and answer[:200]


@pytest.mark.slow
def test_connections_are_capped_and_head_healthz_answers(server: int) -> None:
    r = httpx.head(f"http://127.0.0.1:{server}/healthz", timeout=DEADLINE_S)
    assert r.status_code == 200 and r.content == b""
    held = [_connect(server) for _ in range(MAX_CONNECTIONS)]
    try:
        for sock in held:  # each answered once, then idle in keep-alive
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        r = httpx.get(f"http://127.0.0.1:{server}/healthz", timeout=DEADLINE_S)
        assert r.status_code == 503
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + DEADLINE_S
    while httpx.get(f"http://127.0.0.1:{server}/healthz", timeout=DEADLINE_S).status_code != 200:
        assert time.monotonic() < deadline, "closed connections were never let go"
        time.sleep(0.1)


def test_forwarded_headers_are_believed_only_from_the_configured_proxies(
    tmp_path: Path,
) -> None:
    base = {"data_dir": tmp_path, "secret_key": "a test secret key"}
    default = uvicorn_config(None, Settings(**base), host="127.0.0.1", port=1)
    assert default.proxy_headers and default.forwarded_allow_ips == ["127.0.0.1", "::1"]
    none = uvicorn_config(None, Settings(**base, forwarded_allow_ips=""), host="h", port=1)
    assert not none.proxy_headers
    proxy = Settings(**base, forwarded_allow_ips="10.0.0.5, 10.0.0.6")
    assert uvicorn_config(None, proxy, host="h", port=1).forwarded_allow_ips == [
        "10.0.0.5",
        "10.0.0.6",
    ]
