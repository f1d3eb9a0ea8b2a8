"""Which provider a bare model name belongs to, for entries and events that lack one."""

from __future__ import annotations

_PREFIXES = (
    (("gpt-", "o1", "o3", "o4", "text-embedding-", "chatgpt-", "davinci", "babbage"), "openai"),
    (("claude-",), "anthropic"),
    (("gemini-", "gemma-"), "google"),
    (("titan-", "nova-", "amazon."), "amazon"),
    (("mistral-", "mixtral-", "codestral-", "ministral-", "pixtral-", "magistral-"), "mistral"),
    (("command-", "embed-"), "cohere"),
    (("deepseek-",), "deepseek"),
    (("grok-",), "x-ai"),
)
_LLAMA_HOSTS = {"api.groq.com": "groq", "api.together.xyz": "together"}


def infer_provider(model: str, *, base_url: str | None = None) -> str | None:
    """``gpt-4o`` → openai, ``claude-*`` → anthropic, … ``llama-*`` by the host that serves it."""
    name = model.strip().lower()
    for prefixes, provider in _PREFIXES:
        if name.startswith(prefixes):
            return provider
    if name.startswith("llama") and base_url:
        for host, provider in _LLAMA_HOSTS.items():
            if host in base_url:
                return provider
    return None
