"""LiteLLM's price catalog (``model_prices_and_context_window.json``) read as price rows, with
no litellm installed and nothing of it imported.

Each key is normalised to (provider, model): the provider is LiteLLM's ``litellm_provider``
mapped to the ids the bundled catalog uses (``gemini`` → ``google``, ``bedrock`` → ``aws``, ..),
and the model is the key without its ``provider/`` route prefix and any region segment
(``gemini/gemini-2.5-pro`` → ``gemini-2.5-pro``; ``openrouter/openai/gpt-4o`` →
``openai/gpt-4o``). An entry without ``litellm_provider`` gets the provider its name implies
(``claude-*`` → anthropic), or is skipped. Prices per token become prices per million through
``Decimal(str(v))``, rounded to 12 significant digits so float noise (``2.9999900000000002``)
disappears.
Batch/flex/priority variants, images, seconds and search fees are not modelled.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from llmledger.pricing.infer import infer_provider
from llmledger.pricing.rows import PriceRow, PriceTier

DEFAULT_MODES = ("chat", "embedding")
NOT_MODELS = frozenset({"sample_spec", "fallback_generalizations"})

#: LiteLLM field → token class ($ per token)
FIELDS = {
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_read_input_token_cost": "cache_read",
    "cache_creation_input_token_cost": "cache_write_5m",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
    "output_cost_per_reasoning_token": "reasoning",
    "input_cost_per_audio_token": "input_audio",
    "output_cost_per_audio_token": "output_audio",
}
PER_REQUEST = "input_cost_per_request"
_TIER = re.compile(r"^(?P<field>.+)_above_(?P<k>\d+)k_tokens$")
_REGION = re.compile(r"^([a-z]{2}(-gov)?-[a-z]+-\d+|us|eu|apac|jp|au|global|invoke|converse)$")
_NOISE = Context(prec=12)

#: ``litellm_provider`` → the provider id the bundled catalog (and events) use
PROVIDERS = {
    "text-completion-openai": "openai",
    "gemini": "google",
    "vertex_ai": "google",
    "bedrock": "aws",
    "bedrock_converse": "aws",
    "azure_text": "azure",
    "xai": "x-ai",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
    "codestral": "mistral",
    "text-completion-codestral": "mistral",
    "cohere_chat": "cohere",
    "moonshot": "moonshotai",
    "voyage": "voyageai",
}


def canonical_provider(litellm_provider: str) -> str:
    name = litellm_provider.strip().lower()
    if name.startswith("vertex_ai"):
        return "google"
    return PROVIDERS.get(name, name)


@dataclass
class Parsed:
    """Rows read from a catalog file, and the entries left out with the reason why."""

    rows: list[PriceRow] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    #: how many segments were stripped from each kept row's key (fewest wins a collision)
    _stripped: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict, repr=False)


def per_million(value: Any) -> Decimal:
    """A LiteLLM per-token price as an exact $/1M ``Decimal`` without float noise."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"{value!r} is not a number")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{value!r} is not a price")
    return _plain(_NOISE.create_decimal(amount.scaleb(6)))


def _plain(value: Decimal) -> Decimal:
    return value.normalize() if value else Decimal(0)


def split_key(key: str, litellm_provider: str) -> tuple[str, str, int]:
    """(provider, model, segments stripped) for one catalog key."""
    provider = canonical_provider(litellm_provider)
    parts = key.strip().split("/")
    stripped = 0
    head = parts[0].lower()
    if len(parts) > 1 and (
        head == litellm_provider.lower()
        or litellm_provider.lower().startswith(head)
        or canonical_provider(head) == provider
    ):
        parts, stripped = parts[1:], 1
    while len(parts) > 1 and _REGION.match(parts[0].lower()):
        parts, stripped = parts[1:], stripped + 1
    return provider, "/".join(parts), stripped


def _prices(entry: dict[str, Any]) -> tuple[dict[str, Decimal], tuple[PriceTier, ...]]:
    base: dict[str, Decimal] = {}
    tiers: dict[int, dict[str, Decimal]] = {}
    for name, value in entry.items():
        if value is None:
            continue
        if name in FIELDS:
            base[FIELDS[name]] = per_million(value)
            continue
        m = _TIER.match(name)
        if m and m["field"] in FIELDS:
            tiers.setdefault(int(m["k"]) * 1000, {})[FIELDS[m["field"]]] = per_million(value)
    return base, tuple(PriceTier(above, p) for above, p in sorted(tiers.items()))


def _skip(parsed: Parsed, key: str, reason: str) -> None:
    parsed.skipped.append({"key": key, "reason": reason})


def parse_catalog(data: Any, *, modes: Collection[str] = DEFAULT_MODES) -> Parsed:
    """Price rows (``source="litellm"``, not yet dated) from the parsed JSON file."""
    if not isinstance(data, dict):
        raise ValueError("not a LiteLLM catalog: expected a JSON object of models")
    parsed = Parsed()
    kept: dict[tuple[str, str], PriceRow] = {}
    for key in sorted(data):
        entry = data[key]
        if key in NOT_MODELS or not isinstance(entry, dict):
            _skip(parsed, key, "not a model")
            continue
        mode = entry.get("mode")
        if mode is not None and mode not in modes:
            _skip(parsed, key, f"mode {mode!r}")
            continue
        lp = entry.get("litellm_provider")
        if not isinstance(lp, str) or not lp.strip():
            lp = infer_provider(key.rpartition("/")[2])
            if lp is None:
                _skip(parsed, key, "no litellm_provider, and none can be inferred from the name")
                continue
        try:
            prices, tiers = _prices(entry)
            fee = entry.get(PER_REQUEST)
            per_request = None if fee is None else _plain(per_million(fee).scaleb(-6))
        except (ValueError, InvalidOperation) as exc:
            _skip(parsed, key, f"bad price: {exc}")
            continue
        if "input" not in prices and "output" not in prices and per_request is None:
            _skip(parsed, key, "no per-token price")
            continue
        provider, model, stripped = split_key(key, lp)
        name = (provider.lower(), model.lower())
        held = parsed._stripped.get(name)
        if held is not None and held[0] <= stripped:
            _skip(parsed, key, f"same model as {held[1]!r}")
            continue
        if held is not None:
            _skip(parsed, held[1], f"same model as {key!r}")
        parsed._stripped[name] = (stripped, key)
        kept[name] = PriceRow(
            provider=provider,
            model=model,
            prices=prices,
            source="litellm",
            per_request=per_request,
            tiers=tiers,
            notes=f"LiteLLM {key}",
        )
    parsed.rows = list(kept.values())
    return parsed
