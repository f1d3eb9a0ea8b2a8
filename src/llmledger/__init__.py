"""llmledger: self-hosted LLM cost monitor. This package root is the capture SDK::

    import llmledger, openai
    llmledger.configure()                     # LLMLEDGER_URL / LLMLEDGER_API_KEY
    client = llmledger.wrap(openai.OpenAI(), agent="CIA")

Import-light on purpose: nothing here imports pydantic, FastAPI, SQLAlchemy or a provider SDK.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from llmledger.capture.budgets import BudgetExceeded, BudgetUnavailable
from llmledger.capture.clients import get_tracked_anthropic_client, get_tracked_openai_client
from llmledger.capture.context import attribute, bind
from llmledger.capture.record import record
from llmledger.capture.state import configure, flush, shutdown
from llmledger.capture.wrap import unwrap, wrap

try:
    __version__ = version("llmledger")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "BudgetExceeded",
    "BudgetUnavailable",
    "__version__",
    "attribute",
    "bind",
    "configure",
    "flush",
    "get_tracked_anthropic_client",
    "get_tracked_openai_client",
    "record",
    "shutdown",
    "unwrap",
    "wrap",
]
