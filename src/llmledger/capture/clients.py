"""Conveniences: a tracked provider client in one call."""

from __future__ import annotations

from typing import Any

from llmledger.capture.context import FIELDS
from llmledger.capture.wrap import wrap


def _split(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(attribution keywords, client constructor keywords)."""
    attrs = {k: v for k, v in kwargs.items() if k in FIELDS or k == "provider"}
    rest = {k: v for k, v in kwargs.items() if k not in attrs}
    return attrs, rest


def get_tracked_openai_client(
    agent_name: str | None = None,
    api_key: str | None = None,
    *,
    is_async: bool = False,
    **kwargs: Any,
) -> Any:
    """A tracked ``openai.OpenAI`` (``AsyncOpenAI`` with ``is_async=True``). Attribution keywords
    (``org_id``, ``user_id``, ``provider``...) go to ``wrap``; the rest to the constructor."""
    import openai

    attrs, options = _split(kwargs)
    cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    return wrap(cls(api_key=api_key, **options), agent=agent_name, **attrs)


def get_tracked_anthropic_client(
    agent_name: str | None = None,
    api_key: str | None = None,
    is_async: bool = False,
    **kwargs: Any,
) -> Any:
    """A tracked ``anthropic.Anthropic`` (``AsyncAnthropic`` with ``is_async=True``)."""
    import anthropic

    attrs, options = _split(kwargs)
    cls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
    return wrap(cls(api_key=api_key, **options), agent=agent_name, **attrs)
