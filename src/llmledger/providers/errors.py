"""The one error an import raises: its message names the provider and what to do."""

from __future__ import annotations


class ReportError(Exception):
    """An import that could not be done (no key, a refused key, a provider that kept failing,
    a page that is not what the API documents). Nothing was written."""


class RangeError(ReportError):
    """A range or provider that cannot be imported (the caller's mistake, not the provider's)."""


class NoKey(ReportError):
    """No admin key is configured for the provider."""
