"""A fake OpenAI + Anthropic HTTP API on 127.0.0.1 with realistic JSON and exact SSE framing.

The model name picks the behaviour: ``fail-429`` (429 + Retry-After), ``fail-500``, ``drop``
(connection dropped mid-stream), ``no-usage`` (a stream that never reports usage),
``cached`` (cache and reasoning tokens). Streams use chunked transfer encoding so a dropped
connection is an error, not a short body.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_USAGE = {
    "prompt_tokens": 19,
    "completion_tokens": 10,
    "total_tokens": 29,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
}
CHAT_USAGE_CACHED = {
    "prompt_tokens": 1200,
    "completion_tokens": 300,
    "total_tokens": 1500,
    "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 256, "audio_tokens": 0},
}
RESPONSES_USAGE = {
    "input_tokens": 36,
    "input_tokens_details": {"cached_tokens": 12},
    "output_tokens": 87,
    "output_tokens_details": {"reasoning_tokens": 20},
    "total_tokens": 123,
}
ANTHROPIC_USAGE = {
    "input_tokens": 2095,
    "output_tokens": 503,
    "cache_creation_input_tokens": 2051,
    "cache_read_input_tokens": 2051,
    "cache_creation": {"ephemeral_5m_input_tokens": 2051, "ephemeral_1h_input_tokens": 0},
    "service_tier": "standard",
}


def _chat(model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model + "-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello!", "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": CHAT_USAGE_CACHED
        if model == "cached"
        else {**CHAT_USAGE, "cost": 0.000425}
        if model == "priced"
        else CHAT_USAGE,
        "service_tier": "default",
    }


def _chunk(model: str, content: str | None, usage: Any = None, final: bool = False) -> dict:
    choices = []
    if content is not None or final:
        delta = {"content": content} if content is not None else {}
        choices = [
            {
                "index": 0,
                "delta": delta,
                "logprobs": None,
                "finish_reason": "stop" if final else None,
            }
        ]
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": model,
        "choices": choices,
        "usage": usage,
    }


def _response(model: str, status: str = "completed") -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1700000000,
        "status": status,
        "model": model,
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Hi", "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": RESPONSES_USAGE if status == "completed" else None,
    }


def _message(model: str) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "Hello!"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": ANTHROPIC_USAGE,
    }


class FakeProvider:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on keep-alive

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                provider.requests.append({"path": self.path, "body": body})
                model = str(body.get("model", ""))
                if model == "fail-429":
                    return self._json(
                        429, {"error": {"message": "slow down"}}, {"Retry-After": "0"}
                    )
                if model == "fail-500":
                    return self._json(500, {"error": {"message": "boom"}})
                path = self.path.split("?")[0]
                if path.endswith("/chat/completions"):
                    return self._chat(body, model)
                if path.endswith("/responses"):
                    return self._responses(body, model)
                if path.endswith("/embeddings"):
                    data = [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}]
                    usage = {"prompt_tokens": 8, "total_tokens": 8}
                    answer = {"object": "list", "data": data, "model": model, "usage": usage}
                    return self._json(200, answer)
                if path.endswith("/messages"):
                    return self._messages(body, model)
                return self._json(404, {"error": {"message": "no such route"}})

            # -- plumbing ------------------------------------------------------------------
            def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-request-id", "req_fake")
                self.send_header("request-id", "req_fake")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _sse(self, frames: list[bytes], drop_after: int | None = None) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("x-request-id", "req_stream")
                self.send_header("request-id", "req_stream")
                self.end_headers()
                for i, frame in enumerate(frames):
                    if drop_after is not None and i == drop_after:
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
                self.wfile.write(b"0\r\n\r\n")

            # -- OpenAI --------------------------------------------------------------------
            def _chat(self, body: dict[str, Any], model: str) -> None:
                if not body.get("stream"):
                    return self._json(200, _chat(model))
                frames = [
                    _data(_chunk(model, "")),
                    _data(_chunk(model, "Hel")),
                    _data(_chunk(model, "lo", final=True)),
                ]
                include = (body.get("stream_options") or {}).get("include_usage")
                if include and model != "no-usage":
                    frames.append(_data(_chunk(model, None, usage=CHAT_USAGE)))
                frames.append(b"data: [DONE]\n\n")
                self._sse(frames, drop_after=2 if model == "drop" else None)

            def _responses(self, body: dict[str, Any], model: str) -> None:
                if not body.get("stream"):
                    return self._json(200, _response(model))
                events = [
                    ("response.created", {"response": _response(model, "in_progress")}),
                    (
                        "response.output_text.delta",
                        {
                            "item_id": "msg_1",
                            "output_index": 0,
                            "content_index": 0,
                            "delta": "Hi",
                            "logprobs": [],
                        },
                    ),
                    ("response.completed", {"response": _response(model)}),
                ]
                frames = [
                    _event(kind, {"type": kind, "sequence_number": i, **payload})
                    for i, (kind, payload) in enumerate(events)
                ]
                self._sse(frames, drop_after=2 if model == "drop" else None)

            # -- Anthropic -----------------------------------------------------------------
            def _messages(self, body: dict[str, Any], model: str) -> None:
                if not body.get("stream"):
                    return self._json(200, _message(model))
                start = {**_message(model), "content": [], "stop_reason": None}
                start["usage"] = {**ANTHROPIC_USAGE, "output_tokens": 1}
                events: list[tuple[str, dict[str, Any]]] = [
                    ("message_start", {"message": start}),
                    (
                        "content_block_start",
                        {"index": 0, "content_block": {"type": "text", "text": ""}},
                    ),
                    ("ping", {}),
                    (
                        "content_block_delta",
                        {"index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
                    ),
                    (
                        "content_block_delta",
                        {"index": 0, "delta": {"type": "text_delta", "text": "lo!"}},
                    ),
                    ("content_block_stop", {"index": 0}),
                    (
                        "message_delta",
                        {
                            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                            "usage": {"output_tokens": 503},
                        },
                    ),
                    ("message_stop", {}),
                ]
                frames = [_event(kind, {"type": kind, **payload}) for kind, payload in events]
                self._sse(frames, drop_after=4 if model == "drop" else None)

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def _data(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _event(kind: str, payload: dict[str, Any]) -> bytes:
    return f"event: {kind}\n".encode() + _data(payload)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up (closed or abandoned streams) are expected here
