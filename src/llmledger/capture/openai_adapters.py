"""OpenAI (and every OpenAI-compatible host): chat completions, responses, embeddings."""

from __future__ import annotations

from typing import Any

from llmledger import normalize
from llmledger.capture.calls import Call
from llmledger.capture.wrap import MethodAdapter, result_request_id

_NOT_GIVEN_NAMES = {"NotGiven", "Omit"}


def _given(value: Any) -> bool:
    return value is not None and type(value).__name__ not in _NOT_GIVEN_NAMES


class ChatStream:
    """Chat chunks: usage arrives in one extra chunk with ``choices == []`` at the end."""

    def __init__(self, call: Call, injected: bool, request_id: Any = None) -> None:
        self.call, self.injected, self.request_id = call, injected, request_id
        self.usage: Any = None
        self.model: Any = None

    def observe(self, chunk: Any) -> bool:
        self.call.first_item()
        self.model = getattr(chunk, "model", None) or self.model
        usage = getattr(chunk, "usage", None)
        if usage is None:
            return False
        self.usage = usage
        return self.injected and not getattr(chunk, "choices", None)

    def finish(self, error: BaseException | None, *, early: bool) -> None:
        usage = (normalize.openai_chat, self.usage) if self.usage is not None else None
        if error is not None:
            self.call.fail(error, usage, model=self.model, request_id=self.request_id)
        else:
            self.call.succeed(usage, model=self.model, request_id=self.request_id)


class Chat(MethodAdapter):
    name = "openai.chat.completions"
    path = ("chat", "completions")

    def begin(self, kwargs: dict[str, Any]) -> tuple[dict[str, Any], bool, Any]:
        if kwargs.get("stream") is not True:
            return kwargs, False, False
        options = kwargs.get("stream_options")
        if _given(options) and isinstance(options, dict) and "include_usage" in options:
            return kwargs, True, False
        merged = {**(options if _given(options) and isinstance(options, dict) else {})}
        merged["include_usage"] = True
        return {**kwargs, "stream_options": merged}, True, True

    def done(self, call: Call, result: Any, state: Any) -> None:
        usage = getattr(result, "usage", None)
        call.succeed(
            (normalize.openai_chat, usage) if usage is not None else None,
            model=getattr(result, "model", None),
            request_id=result_request_id(result),
        )

    def observer(self, call: Call, state: Any) -> ChatStream:
        return ChatStream(call, injected=bool(state))


class ResponsesStream:
    """Responses events: usage in ``response.completed`` (or ``incomplete``/``failed``)."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.usage: Any = None
        self.model: Any = None
        self.request_id: Any = None

    def observe(self, event: Any) -> bool:
        self.call.first_item()
        response = getattr(event, "response", None)
        if response is not None:
            self.model = getattr(response, "model", None) or self.model
            self.usage = getattr(response, "usage", None) or self.usage
        return False

    def finish(self, error: BaseException | None, *, early: bool) -> None:
        usage = (normalize.openai_responses, self.usage) if self.usage is not None else None
        if error is not None:
            self.call.fail(error, usage, model=self.model)
        else:
            self.call.succeed(usage, model=self.model)


class Responses(MethodAdapter):
    name = "openai.responses"
    path = ("responses",)

    def begin(self, kwargs: dict[str, Any]) -> tuple[dict[str, Any], bool, Any]:
        return kwargs, kwargs.get("stream") is True, None

    def done(self, call: Call, result: Any, state: Any) -> None:
        usage = getattr(result, "usage", None)
        call.succeed(
            (normalize.openai_responses, usage) if usage is not None else None,
            model=getattr(result, "model", None),
            request_id=result_request_id(result),
        )

    def observer(self, call: Call, state: Any) -> ResponsesStream:
        return ResponsesStream(call)


class Embeddings(MethodAdapter):
    name = "openai.embeddings"
    path = ("embeddings",)

    def begin(self, kwargs: dict[str, Any]) -> tuple[dict[str, Any], bool, Any]:
        return kwargs, False, None

    def done(self, call: Call, result: Any, state: Any) -> None:
        usage = getattr(result, "usage", None)
        call.succeed(
            (normalize.openai_embeddings, usage) if usage is not None else None,
            model=getattr(result, "model", None),
            request_id=result_request_id(result),
        )

    def observer(self, call: Call, state: Any) -> Any:  # pragma: no cover - never streams
        raise NotImplementedError


class ChatParse(Chat):
    """``chat.completions.parse`` posts by itself (``stream()`` goes through ``create``)."""

    name = "openai.chat.completions.parse"
    method = "parse"

    def begin(self, kwargs: dict[str, Any]) -> tuple[dict[str, Any], bool, Any]:
        return kwargs, False, False


class ResponsesParse(Responses):
    name = "openai.responses.parse"
    method = "parse"

    def begin(self, kwargs: dict[str, Any]) -> tuple[dict[str, Any], bool, Any]:
        return kwargs, False, None


ADAPTERS = [Chat(), ChatParse(), Responses(), ResponsesParse(), Embeddings()]
