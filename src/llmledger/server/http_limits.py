"""Limits at the HTTP layer, below the app: how long a client may take to send a request, and
how large its head may be.

uvicorn's own HTTP protocol times out only idle keep-alive connections: a client that sends
half a request head (or half a body) and then waits holds its connection, and its memory,
for ever, and the head may be of any size. ``protocol_for`` makes a subclass of uvicorn's
httptools protocol that

- answers 408 and closes the connection when a request's head has not arrived within the
  read timeout (counted from the connection, or from the request's first byte);
- closes the connection when a body stops arriving for longer than the read timeout (while
  the app is not the one that stopped reading it);
- answers 431 and closes when the request line and headers pass a size, or the headers a
  count.

A request that arrives in one piece (nearly all of them) costs no timer at all.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from llmledger.settings import Settings

log = logging.getLogger(__name__)

_HEAD, _BODY, _APP = "head", "body", "app"  # what the connection waits for
#: raw bytes of an unfinished head beyond the limit that are still read before refusing: the
#: parser counts the head exactly, but holds a header line in memory until it is complete
_RAW_SLACK = 64 * 1024
_LINGER_S = 2.0


@dataclass(frozen=True, slots=True)
class HttpLimits:
    read_timeout_s: float
    max_header_bytes: int
    max_headers: int

    @classmethod
    def of(cls, settings: Settings) -> HttpLimits:
        return cls(
            settings.http_read_timeout_seconds,
            settings.http_max_header_bytes,
            settings.http_max_headers,
        )


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    limits: HttpLimits  # set by ``protocol_for``

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._waiting_for = _HEAD
        self._timer: asyncio.TimerHandle | None = None
        self._body_moved = False
        self._head_bytes = 0  # as parsed: request line and header fields
        self._head_raw = 0  # as received, while a head is unfinished
        self._head_fields = 0
        self._refused = False

    # -- the connection ----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # the first request's head must come in time, even its first byte

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._waiting_for == _HEAD:
            self._head_raw += len(data)
            if self._head_raw > self.limits.max_header_bytes + _RAW_SLACK:
                self._refuse(431, "request header fields too large")
                return
        super().data_received(data)
        if self._timer is None and self._waiting_for != _APP and not self._refused:
            self._arm()

    # -- parser callbacks ----------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._waiting_for = _HEAD
        self._head_bytes = self._head_fields = 0

    def on_url(self, url: bytes) -> None:
        if self._counted(len(url), 0):
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._counted(len(name) + len(value) + 4, 1):
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        self._disarm()
        self._waiting_for = _BODY
        self._head_raw = 0
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._refused:
            return
        self._body_moved = True
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._disarm()
        self._waiting_for = _APP
        self._head_raw = 0
        super().on_message_complete()

    # -- limits ------------------------------------------------------------------------
    def _counted(self, size: int, fields: int) -> bool:
        """Count part of a head; ``False`` (and the request refused) when it is too large."""
        if self._refused:
            return False
        self._head_bytes += size
        self._head_fields += fields
        if self._head_fields > self.limits.max_headers:
            self._refuse(431, f"more than {self.limits.max_headers} header fields")
            return False
        if self._head_bytes > self.limits.max_header_bytes:
            self._refuse(431, "request header fields too large")
            return False
        return True

    def _arm(self) -> None:
        self._body_moved = False
        self._timer = self.loop.call_later(self.limits.read_timeout_s, self._timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        if self.transport.is_closing() or self._waiting_for == _APP:
            return
        if self._waiting_for == _HEAD:
            self._refuse(408, "the request head did not arrive in time")
            return
        if self._body_moved or self.flow.read_paused:  # the client sends, or the app is slow
            self._arm()
            return
        log.info("closing a connection from %s: its request body stopped", self.client)
        self.transport.close()  # the app reads a disconnect

    def _refuse(self, status: int, reason: str) -> None:
        """Answer ``status`` (unless a response is under way) and close the connection.

        The close lingers: the answer is followed by our end of the stream, and whatever the
        client still sends is read and dropped for a moment. Closing a socket with unread
        data would reset it, and the client could lose the answer that says why."""
        self._refused = True
        self._disarm()
        log.info("refused a request from %s: %s", self.client, reason)
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()  # a pipelined request's answer is under way: no word
            return
        body = reason.encode()
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head.append(
            b"content-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        self.transport.write(b"".join(head) + body)
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self._timer = self.loop.call_later(_LINGER_S, self.transport.close)


def protocol_for(limits: HttpLimits) -> type[LimitedHttpToolsProtocol]:
    """The protocol class uvicorn makes each connection with (``uvicorn.Config(http=...)``)."""
    return type("LimitedHttpToolsProtocol", (LimitedHttpToolsProtocol,), {"limits": limits})
