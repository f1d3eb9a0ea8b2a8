"""llmledger: self-hosted LLM cost monitor. This package root is the capture SDK::

    import llmledger, openai
    llmledger.configure()                     # LLMLEDGER_URL / LLMLEDGER_API_KEY
    client = llmledger.wrap(openai.OpenAI(), agent="CIA")

Import-light on purpose: nothing here imports pydantic, FastAPI or SQLAlchemy.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("llmledger")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
