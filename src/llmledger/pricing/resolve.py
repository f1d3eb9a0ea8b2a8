"""Resolving the price row in force for a (provider, model) at a moment.

Names are matched the way users send them: exact ids and aliases, the catalog's own match rules
(prefixes, regexes), ``provider/model`` forms (OpenRouter), dated snapshots
(``gpt-4o-2024-08-06``, ``claude-sonnet-4-20250514``), and provider aliases. A name can match
several catalog entries (a synced ``gpt-4o-2024-08-06`` and the bundled ``gpt-4o`` whose rule
covers it); they are kept most specific first and combined into one timeline per name (see
``Timeline.of_name``), cached, so pricing a repeat name is a dict lookup and a ``bisect``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from llmledger.pricing.infer import infer_provider
from llmledger.pricing.rows import PriceRow
from llmledger.pricing.timeline import PRECEDENCE, Timeline, in_force

__all__ = ["PRECEDENCE", "PROVIDER_ALIASES", "PriceBook", "Timeline", "compile_match", "in_force"]

Key = tuple[str, str]
Matcher = Callable[[str], bool]
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


_COMPILED: dict[str, Matcher] = {}


def compile_match(rule: Any) -> Matcher:
    """A predicate from a match rule in plain data (``{"equals": ..}``, ``{"or": [..]}``, ..);
    remembered, since every reload of the price book compiles the same few thousand rules."""
    text = json.dumps(rule, sort_keys=True)
    found = _COMPILED.get(text)
    if found is None:
        if len(_COMPILED) >= 50_000:
            _COMPILED.clear()
        found = _COMPILED[text] = _compile(rule)
    return found


def _compile(rule: Any) -> Matcher:
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
        parts = [_compile(r) for r in arg]
        if kind == "or":
            return lambda m: any(p(m) for p in parts)
        return lambda m: all(p(m) for p in parts)
    raise ValueError(f"unknown match rule {kind!r}")


class PriceBook:
    """All price rows, in memory and immutable; rebuild it when prices change."""

    def __init__(self, rows: Iterable[PriceRow], *, cache_size: int = 50_000) -> None:
        self._rows: dict[Key, list[PriceRow]] = {}
        self._fallback: list[PriceRow] = []
        for row in rows:
            if row.source == "fallback":
                self._fallback.append(row)
            else:
                self._rows.setdefault(row.key, []).append(row)
        names: dict[Key, Key] = {key: key for key in self._rows}
        rules: dict[str, list[tuple[Matcher, Key]]] = {}
        for key, lst in self._rows.items():
            lst.sort(key=lambda r: (r.effective_from, r.id or 0))
            for row in lst:
                # an exact model name always wins over another entry's alias of the same name
                for alias in row.aliases:
                    names.setdefault((key[0], alias.lower()), key)
            for row in lst:
                if row.match is not None:
                    rules.setdefault(key[0], []).append((compile_match(row.match), key))
                    break
        self._fallback.sort(key=lambda r: (r.effective_from, r.id or 0))
        self._timelines = {key: Timeline.of_entry(lst) for key, lst in self._rows.items()}
        self._fallback_timeline = Timeline.of_entry(self._fallback)
        self._names = names
        self._rules = rules
        self._cache: dict[Key, tuple[Key, ...]] = {}
        self._found: dict[Key, Timeline | None] = {}
        self._cache_size = cache_size
        self.rows = [r for lst in self._rows.values() for r in lst] + self._fallback

    # -- name resolution -----------------------------------------------------------------
    def candidates(self, provider: str, model: str) -> tuple[Key, ...]:
        """Every catalog key (provider, model) that matches this name, most specific first."""
        name = (provider, model)
        try:
            return self._cache[name]
        except KeyError:
            pass
        found: dict[Key, None] = {}
        for key in self._candidates(provider.lower(), model.strip().lower()):
            found.setdefault(key)
        keys = tuple(found)
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[name] = keys
        return keys

    def resolve(self, provider: str, model: str) -> Key | None:
        """The most specific catalog key that matches this name, or ``None``."""
        keys = self.candidates(provider, model)
        return keys[0] if keys else None

    def _lookup(self, provider: str, model: str) -> Iterator[Key]:
        for p in (provider, *PROVIDER_ALIASES.get(provider, ())):
            key = self._names.get((p, model))
            if key is not None:
                yield key
            for matcher, key in self._rules.get(p, ()):
                if matcher(model):
                    yield key
                    break

    def _candidates(self, provider: str, model: str) -> Iterator[Key]:
        yield from self._lookup(provider, model)
        if "/" in model:
            prefix, _, rest = model.partition("/")
            yield from self._lookup(prefix, rest)
            yield from self._candidates(provider, rest)
        undated = _DATE_SUFFIX.sub("", model)
        if undated != model and undated:
            yield from self._lookup(provider, undated)
        inferred = infer_provider(model)
        if inferred and inferred != provider:
            yield from self._lookup(inferred, model)
            if undated != model and undated:
                yield from self._lookup(inferred, undated)

    # -- effective dating ----------------------------------------------------------------
    def timeline(self, provider: str, model: str) -> Timeline | None:
        """The name's timeline over every entry it matches (cached: the hot path)."""
        name = (provider, model)
        try:
            return self._found[name]
        except KeyError:
            pass
        keys = self.candidates(provider, model)
        found = Timeline.of_name([(k[0], self._timelines[k]) for k in keys]) if keys else None
        if len(self._found) >= self._cache_size:
            self._found.clear()
        self._found[name] = found
        return found

    def price_in_force(self, provider: str, model: str, at: dt.datetime) -> PriceRow | None:
        """The row that prices (provider, model) at ``at``: manual > litellm > bundled."""
        timeline = self.timeline(provider, model)
        return None if timeline is None else timeline.at(at)

    def fallback_at(self, at: dt.datetime) -> PriceRow:
        row = self._fallback_timeline.at(at) or (self._fallback[0] if self._fallback else None)
        if row is None:
            raise LookupError("no fallback price row; run `llmledger db upgrade`")
        return row

    def history(self, provider: str, model: str) -> list[PriceRow]:
        key = self.resolve(provider, model)
        return list(self._rows.get(key, ())) if key else []
