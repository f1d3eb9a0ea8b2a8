"""A page that cannot be shown: its status and a sentence for the person who asked."""

from __future__ import annotations


class PageError(Exception):
    """Rendered as an HTML page with ``status`` (403, 404, 422) and ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
