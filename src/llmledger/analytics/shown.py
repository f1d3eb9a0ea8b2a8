"""Presenting stored rows when some cannot be shown.

Ingest keeps what it stores presentable (timestamps from 2000 to ten minutes ahead), but a
database written by an older version, or by hand, may hold a row that is not: a timestamp
before year 1 or after year 9999 once in UTC has no ``datetime``. One such row must not turn
every answer that lists it into a 500, so it is left out and named in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

log = logging.getLogger(__name__)

R = TypeVar("R")
T = TypeVar("T")

#: what presenting a stored value raises when no ``datetime`` (or number) can hold it
UNSHOWABLE = (OverflowError, ValueError)


def shown(rows: Iterable[R], present: Callable[[R], T], *, what: Callable[[R], str]) -> list[T]:
    """``present(row)`` for every row that can be shown; the others are logged (``what``
    names the row) and left out."""
    out = []
    for row in rows:
        try:
            out.append(present(row))
        except UNSHOWABLE as exc:
            log.warning("left out %s: a stored value cannot be shown (%s)", what(row), exc)
    return out
