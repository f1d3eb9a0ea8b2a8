"""Resolving the price row in force for a (provider, model) at a moment.

Names are matched the way users send them: exact ids and aliases, the catalog's own match rules
(prefixes, regexes), ``provider/model`` forms (OpenRouter), dated snapshots
(``gpt-4o-2024-08-06``, ``claude-sonnet-4-20250514``), and provider aliases. The resolution of
each distinct (provider, model) is cached, so pricing a repeat model is a dict lookup.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from typing import Any

from llmledger.pricing.infer import infer_provider
from llmledger.pricing.rows import PriceRow

Matcher = Callable[[str], bool]
_PRECEDENCE = {"manual": 0, "litellm": 1, "bundled": 2}
_DATE_SUFFIX = re.compile(r"[-@_]?(\d{4}-\d{2}-\d{2}|\d{8}|\d{4})$")
#: other catalog names a provider's models may be listed under, in order
PROVIDER_ALIASES: dict[str, tuple[str, ...]] = {
    "azure_openai": ("azure", "openai"),
    "azure": ("openai",),
    "xai": ("x-ai",),
    "x-ai": ("xai",),
    "gemini": ("google",),
    "vertex_ai": ("google", "anthropic"),
    "bedrock": ("aws", "anthropic", "amazon"),
    "aws": ("anthropic",),
    "together_ai": ("together",),
    "mistralai": ("mistral",),
    "openrouter": (),
}


def compile_match(rule: Any) -> Matcher:
    """A predicate from a match rule in plain data (``{"equals": ..}``, ``{"or": [..]}``, ..)."""
    if not isinstance(rule, dict) or len(rule) != 1:
        raise ValueError(f"not a match rule: {rule!r}")
    ((kind, arg),) = rule.items()
    if kind in ("equals", "starts_with", "ends_with", "contains"):
        text = str(arg).lower()
        if kind == "equals":
            return text.__eq__
        if kind == "contains":
            return lambda m: text in m
        method = str.startswith if kind == "starts_with" else str.endswith
        return lambda m: method(m, text)
    if kind == "regex":
        rx = re.compile(arg, re.IGNORECASE)
        return lambda m: rx.search(m) is not None
    if kind in ("or", "and"):
        parts = [compile_match(r) for r in arg]
        if kind == "or":
            return lambda m: any(p(m) for p in parts)
        return lambda m: all(p(m) for p in parts)
    raise ValueError(f"unknown match rule {kind!r}")


class PriceBook:
    """All price rows, in memory and immutable; rebuild it when prices change."""

    def __init__(self, rows: Iterable[PriceRow], *, cache_size: int = 50_000) -> None:
        self._rows: dict[tuple[str, str], list[PriceRow]] = {}
        self._fallback: list[PriceRow] = []
        names: dict[tuple[str, str], tuple[str, str]] = {}
        rules: dict[str, list[tuple[Matcher, tuple[str, str]]]] = {}
        for row in rows:
            if row.source == "fallback":
                self._fallback.append(row)
                continue
            key = (row.provider.lower(), row.model.lower())
            self._rows.setdefault(key, []).append(row)
            names.setdefault(key, key)
            for alias in row.aliases:
                names.setdefault((key[0], alias.lower()), key)
            if row.match is not None and not any(k == key for _, k in rules.get(key[0], [])):
                rules.setdefault(key[0], []).append((compile_match(row.match), key))
        for lst in self._rows.values():
            lst.sort(key=lambda r: r.effective_from)
        self._fallback.sort(key=lambda r: r.effective_from)
        self._names = names
        self._rules = rules
        self._cache: dict[tuple[str, str], tuple[str, str] | None] = {}
        self._cache_size = cache_size
        self.rows = [r for lst in self._rows.values() for r in lst] + self._fallback

    # -- name resolution -----------------------------------------------------------------
    def resolve(self, provider: str, model: str) -> tuple[str, str] | None:
        """The catalog key (provider, model) that prices this name, or ``None``."""
        key = (provider, model)
        try:
            return self._cache[key]
        except KeyError:
            pass
        found = self._resolve(provider.lower(), model.strip().lower())
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[key] = found
        return found

    def _lookup(self, provider: str, model: str) -> tuple[str, str] | None:
        for p in (provider, *PROVIDER_ALIASES.get(provider, ())):
            key = self._names.get((p, model))
            if key is not None:
                return key
            for matcher, key in self._rules.get(p, ()):
                if matcher(model):
                    return key
        return None

    def _resolve(self, provider: str, model: str) -> tuple[str, str] | None:
        found = self._lookup(provider, model)
        if found:
            return found
        if "/" in model:
            prefix, _, rest = model.partition("/")
            found = self._lookup(prefix, rest) or self._resolve(provider, rest)
            if found:
                return found
        undated = _DATE_SUFFIX.sub("", model)
        if undated != model and undated:
            found = self._lookup(provider, undated)
            if found:
                return found
        inferred = infer_provider(model)
        if inferred and inferred != provider:
            found = self._lookup(inferred, model) or (
                self._lookup(inferred, undated) if undated != model else None
            )
        return found

    # -- effective dating ----------------------------------------------------------------
    def price_in_force(self, provider: str, model: str, at: dt.datetime) -> PriceRow | None:
        """The row that prices (provider, model) at ``at``: manual > litellm > bundled."""
        key = self.resolve(provider, model)
        if key is None:
            return None
        return _in_force(self._rows[key], at)

    def fallback_at(self, at: dt.datetime) -> PriceRow:
        row = _in_force(self._fallback, at) or (self._fallback[0] if self._fallback else None)
        if row is None:
            raise LookupError("no fallback price row; run `llmledger db upgrade`")
        return row

    def history(self, provider: str, model: str) -> list[PriceRow]:
        key = self.resolve(provider, model)
        return list(self._rows.get(key, ())) if key else []


def _in_force(rows: list[PriceRow], at: dt.datetime) -> PriceRow | None:
    best: PriceRow | None = None
    for row in rows:
        if row.effective_from > at:
            break
        if row.effective_to is not None and row.effective_to <= at:
            continue
        if best is None or _PRECEDENCE.get(row.source, 9) <= _PRECEDENCE.get(best.source, 9):
            best = row
    return best
