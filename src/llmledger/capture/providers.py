"""Which provider a client talks to, from its base URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

HOSTS = {
    "api.openai.com": "openai",
    "openrouter.ai": "openrouter",
    "api.groq.com": "groq",
    "api.deepseek.com": "deepseek",
    "api.together.xyz": "together",
    "api.together.ai": "together",
    "api.anthropic.com": "anthropic",
}


def provider_of(client: Any, family: str) -> str:
    """The provider name for ``client``; ``family`` ("openai"/"anthropic") when the host is not
    one llmledger knows (a proxy, a local server) - pass ``provider=`` to ``wrap`` then."""
    if any("Azure" in cls.__name__ for cls in type(client).__mro__):
        return "azure_openai"
    host = (urlsplit(str(getattr(client, "base_url", "") or "")).hostname or "").lower()
    for known, name in HOSTS.items():
        if host == known or host.endswith("." + known):
            return name
    if host.endswith(".openai.azure.com") or host.endswith(".azure.com"):
        return "azure_openai"
    return family
