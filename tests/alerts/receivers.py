"""Real receivers of alerts on 127.0.0.1: an SMTP server (aiosmtpd) and an HTTP server, each
keeping what arrived for the test to read. Both stop when the test's fixture ends."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

DEADLINE_SECONDS = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def part(self, kind: str) -> str:
        body = self.message.get_body(preferencelist=(kind,))
        assert body is not None, f"no text/{kind} part"
        return str(body.get_content())  # type: ignore[attr-defined]


class _Handler:
    def __init__(self, box: list[Mail]) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.box.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted"


class Mailbox:
    """An SMTP server on 127.0.0.1 (plain, no TLS) and the mails it accepted."""

    def __init__(self, **smtp_options: Any) -> None:
        self.mails: list[Mail] = []
        self.port = free_port()
        self._controller = Controller(
            _Handler(self.mails), hostname="127.0.0.1", port=self.port, **smtp_options
        )

    def __enter__(self) -> Mailbox:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


class HttpReceiver:
    """An HTTP server on 127.0.0.1: it keeps each POST and answers ``status[path]`` (200); a
    path in ``down`` gets its connection closed without an answer, as from a dead server. A
    request to a path in ``hold`` is kept in ``held`` (not ``requests``: it is never answered)
    and waits until ``release`` is set, then its connection is closed."""

    def __init__(self, port: int | None = None) -> None:
        self.requests: list[Request] = []
        self.status: dict[str, int] = {}
        self.redirect: dict[str, str] = {}
        self.down: set[str] = set()
        self.hold: set[str] = set()
        self.held: list[Request] = []
        self.release = threading.Event()
        self.port = port or free_port()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def start(self) -> HttpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path in receiver.down:
                    self.close_connection = True
                    return
                if self.path in receiver.hold:
                    with receiver._lock:
                        receiver.held.append(Request(self.path, dict(self.headers), body))
                    receiver.release.wait(DEADLINE_SECONDS)
                    self.close_connection = True
                    return
                with receiver._lock:
                    receiver.requests.append(Request(self.path, dict(self.headers), body))
                code = receiver.status.get(self.path, 200)
                self.send_response(code)
                if self.path in receiver.redirect:
                    self.send_header("Location", receiver.redirect[self.path])
                answer = b"ok" if code < 300 else b"no_service"
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()  # a held request ends
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HttpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
