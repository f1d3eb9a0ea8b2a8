"""The fault guard: llmledger must never hurt the caller.

A fault inside llmledger's own code is logged once per place and swallowed in production; under
pytest (``PYTEST_CURRENT_TEST`` set, or ``RAISE_FAULTS = True``) it is re-raised so bugs surface
in tests and never in users' applications.
"""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger("llmledger")

#: tests may force re-raising regardless of the environment
RAISE_FAULTS: bool | None = None

_seen: set[str] = set()
_seen_lock = threading.Lock()


def raising() -> bool:
    if RAISE_FAULTS is not None:
        return RAISE_FAULTS
    return "PYTEST_CURRENT_TEST" in os.environ


def fault(where: str, exc: BaseException) -> None:
    """Report a fault in llmledger's code at ``where``: log it once, re-raise under tests."""
    if raising():
        raise exc
    with _seen_lock:
        first = where not in _seen
        _seen.add(where)
    if first:
        log.error(
            "llmledger: internal error in %s (further ones are not logged)", where, exc_info=exc
        )
