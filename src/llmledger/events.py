"""The usage event: the one contract every capture path shares.

HTTP JSON is camelCase, Python is snake_case. Token counts follow the OpenTelemetry GenAI rule:
``input_tokens`` is all input and the cache read/write and input-audio counts are parts of it;
``output_tokens`` is all output and ``reasoning_tokens`` and output-audio counts are parts of it.
An event whose parts exceed its whole is rejected.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Annotated, Any

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from llmledger.money import MoneyError, usd_to_nanos

MAX_STRING = 256
MAX_METADATA_BYTES = 8 * 1024
#: objects and arrays inside one another, counting ``metadata`` itself
MAX_METADATA_DEPTH = 32
#: metadata integers are signed 64-bit, what every JSON reader downstream can hold exactly
MIN_INT64, MAX_INT64 = -(2**63), 2**63 - 1
MAX_TOKENS = 10**12  # far above any real request; keeps sums far inside BIGINT
MAX_COST_USD = Decimal(1_000_000)
FUTURE_SKEW = dt.timedelta(minutes=10)
#: the earliest timestamp accepted (in UTC): older ones are mistakes (a zero date, a Unix time
#: in the wrong unit) that no reader could place in a range
MIN_TIMESTAMP = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


#: RFC 3339's date-time: seconds required, an offset required and written with its colon; as
#: the RFC allows, ``t``/``z`` in lower case and a space for the ``T``
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _rfc3339(value: Any) -> Any:
    """Refuse what pydantic would otherwise read as a time: Unix seconds (a number or a string
    of digits), offsets without a colon, minutes without seconds."""
    if isinstance(value, str):
        if _RFC3339.fullmatch(value) is None:
            shown = value if len(value) <= 40 else value[:40] + "..."
            raise ValueError(
                f"{shown!r} is not an RFC 3339 timestamp with a timezone offset (such as "
                "2026-12-07T10:00:00Z or 2026-12-07T15:30:00+05:30)"
            )
    elif isinstance(value, int | float):
        what = "a boolean" if isinstance(value, bool) else "a number"
        raise ValueError(
            "must be an RFC 3339 string with a timezone offset (such as 2026-12-07T10:00:00Z), "
            f"not {what}"
        )
    return value


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text; refusing it here keeps one bad string from failing
    # the whole batch's transaction
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


def _trimmed(value: str) -> str:
    # what a filter or a URL would name: filters strip their values the same way
    return value.strip()


def _named(value: str) -> str:
    if not value:
        raise ValueError("must not be empty or only whitespace")
    return value


#: a provider or a model: stripped of surrounding whitespace, never empty
Label = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_STRING),
    AfterValidator(_no_nul),
    AfterValidator(_trimmed),
    AfterValidator(_named),
]
#: an attribution (organisation, user, agent, session...): stripped of surrounding whitespace,
#: so that the listing, a drill-down and a filter name the same thing
Attribution = (
    Annotated[
        str,
        StringConstraints(max_length=MAX_STRING),
        AfterValidator(_no_nul),
        AfterValidator(_trimmed),
    ]
    | None
)
#: an outcome detail (error type, request id): kept exactly as sent
OptLabel = Annotated[str, StringConstraints(max_length=MAX_STRING), AfterValidator(_no_nul)] | None
Count = Annotated[StrictInt, Field(ge=0, le=MAX_TOKENS)]

#: token fields, in the order the store and the CSV export use
TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
    "input_audio_tokens",
    "output_audio_tokens",
)

#: attribution fields (all optional strings)
ATTRIBUTION_FIELDS = (
    "org_id",
    "user_id",
    "agent",
    "session_id",
    "agent_session_id",
    "agent_execution_id",
    "agent_plan_id",
    "operation",
    "tier",
)


class UsageEvent(BaseModel):
    """One LLM call (or a batch of identical calls, ``requests`` > 1) as recorded by llmledger."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_max_length=MAX_STRING,
    )

    event_id: uuid.UUID
    timestamp: Annotated[AwareDatetime, BeforeValidator(_rfc3339)]
    provider: Label
    model: Label

    org_id: Attribution = None
    user_id: Attribution = None
    agent: Attribution = None
    session_id: Attribution = None
    agent_session_id: Attribution = None
    agent_execution_id: Attribution = None
    agent_plan_id: Attribution = None
    operation: Attribution = None
    tier: Attribution = None
    metadata: dict[str, Any] | None = None

    input_tokens: Count = 0
    output_tokens: Count = 0
    cache_read_tokens: Count = 0
    cache_write_5m_tokens: Count = Field(default=0, ge=0, le=MAX_TOKENS, alias="cacheWrite5mTokens")
    cache_write_1h_tokens: Count = Field(default=0, ge=0, le=MAX_TOKENS, alias="cacheWrite1hTokens")
    reasoning_tokens: Count = 0
    input_audio_tokens: Count = 0
    output_audio_tokens: Count = 0
    requests: Annotated[StrictInt, Field(ge=1, le=1_000_000)] = 1

    latency_ms: Annotated[StrictInt, Field(ge=0, le=86_400_000)] | None = None
    time_to_first_token_ms: Annotated[StrictInt, Field(ge=0, le=86_400_000)] | None = None
    success: StrictBool = True
    error_type: OptLabel = None
    status_code: Annotated[StrictInt, Field(ge=100, le=599)] | None = None
    request_id: OptLabel = None
    stream: StrictBool | None = None

    cost_usd: Decimal | None = None

    @field_validator("provider")
    @classmethod
    def _provider_lower(cls, value: str) -> str:
        lowered = value.lower()
        # lower-casing can lengthen a string ("İ" is two characters in lower case): the limit
        # is on what is stored
        if len(lowered) > MAX_STRING:
            raise ValueError(
                f"must be at most {MAX_STRING} characters once lower-cased (it has {len(lowered)})"
            )
        return lowered

    @field_validator("timestamp")
    @classmethod
    def _not_before_the_floor(cls, value: dt.datetime) -> dt.datetime:
        if value < MIN_TIMESTAMP:
            raise ValueError(
                f"{value.isoformat()} is before 2000-01-01T00:00:00Z, the earliest timestamp "
                "accepted"
            )
        return value

    @field_validator("cost_usd", mode="before")
    @classmethod
    def _cost_exact(cls, value: Any) -> Any:
        return exact_cost(value)

    @field_validator("metadata")
    @classmethod
    def _metadata_small(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        metadata_json(value)
        return value

    @model_validator(mode="after")
    def _parts_within_wholes(self) -> UsageEvent:
        cached = self.cache_read_tokens + self.cache_write_5m_tokens + self.cache_write_1h_tokens
        if cached > self.input_tokens:
            raise ValueError(
                f"cacheReadTokens + cacheWrite5mTokens + cacheWrite1hTokens ({cached}) exceed "
                f"inputTokens ({self.input_tokens}); input counts include cached tokens"
            )
        if self.input_audio_tokens > self.input_tokens:
            raise ValueError(
                f"inputAudioTokens ({self.input_audio_tokens}) exceed inputTokens "
                f"({self.input_tokens})"
            )
        out_parts = self.reasoning_tokens + self.output_audio_tokens
        if out_parts > self.output_tokens:
            raise ValueError(
                f"reasoningTokens + outputAudioTokens ({out_parts}) exceed outputTokens "
                f"({self.output_tokens}); output counts include reasoning tokens"
            )
        return self

    @property
    def cost_nanos(self) -> int | None:
        """The provider-reported cost in nano-dollars, if any."""
        return None if self.cost_usd is None else usd_to_nanos(self.cost_usd)

    def to_json_dict(self) -> dict[str, Any]:
        """The camelCase JSON form (what the SDK sends and the API accepts)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def exact_cost(value: Any) -> Decimal | None:
    """A reported cost (decimal string or JSON number, read through ``str``) as an exact
    ``Decimal``; ``ValueError`` names what is wrong with it."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError("must be a decimal string or a number")
    try:
        amount = Decimal(str(value).strip())
    except Exception as exc:
        raise ValueError(f"{value!r} is not a decimal amount") from exc
    if not amount.is_finite() or amount < 0 or amount > MAX_COST_USD:
        raise ValueError(f"must be a finite amount between 0 and {MAX_COST_USD}")
    return amount


def metadata_json(value: dict[str, Any] | None) -> str | None:
    """``metadata`` as the JSON text that is stored; ``ValueError`` if it is too large, nested
    too deeply or holds what JSON cannot (an integer beyond 64 bits)."""
    if value is None:
        return None
    _check_nesting_and_integers(value)
    try:
        text = orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        raise ValueError(f"must be plain JSON ({exc})") from None
    if len(text) > MAX_METADATA_BYTES:
        raise ValueError(f"must be at most {MAX_METADATA_BYTES} bytes of JSON")
    return text.decode()


def _check_nesting_and_integers(value: dict[str, Any]) -> None:
    # a walk with its own stack: a value nested far too deeply must not exhaust Python's
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_METADATA_DEPTH:
            raise ValueError(
                f"must nest objects and arrays at most {MAX_METADATA_DEPTH} levels deep "
                "(counting metadata itself)"
            )
        for item in node.values() if isinstance(node, dict) else node:
            if isinstance(item, dict | list | tuple):
                stack.append((item, depth + 1))
            elif isinstance(item, int) and not MIN_INT64 <= item <= MAX_INT64:
                raise ValueError(
                    f"integer {item} is outside the signed 64-bit range ({MIN_INT64} to "
                    f"{MAX_INT64}); send it as a string"
                )


class EventRejected(ValueError):
    """One event failed validation; ``errors`` are human-readable lines naming each field."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) if loc else "event"


def describe_errors(exc: ValidationError) -> list[str]:
    """Pydantic errors as short lines that name the offending field."""
    lines = []
    for err in exc.errors(include_url=False):
        where = _location(err["loc"])
        if err["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown field")
        elif err["type"] == "missing":
            lines.append(f"{where}: required field is missing")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{where}: {msg}")
    return lines


def parse_event(
    raw: Any, *, now: dt.datetime | None = None, clock: Callable[[], dt.datetime] | None = None
) -> UsageEvent:
    """Validate one JSON object into a ``UsageEvent`` or raise ``EventRejected``."""
    if not isinstance(raw, Mapping):
        raise EventRejected([f"event: must be a JSON object, not {type(raw).__name__}"])
    try:
        event = UsageEvent.model_validate(raw)
    except ValidationError as exc:
        raise EventRejected(describe_errors(exc)) from None
    except MoneyError as exc:  # pragma: no cover - cost is validated above
        raise EventRejected([f"costUsd: {exc}"]) from None
    current = now or (clock or _utcnow)()
    if event.timestamp - current > FUTURE_SKEW:
        raise EventRejected(
            [
                f"timestamp: {event.timestamp.isoformat()} is more than "
                f"{int(FUTURE_SKEW.total_seconds() // 60)} minutes in the future"
            ]
        )
    return event


def parse_events(
    raws: Iterable[Any], *, now: dt.datetime | None = None
) -> tuple[list[UsageEvent], list[dict[str, Any]]]:
    """Validate a batch. Returns the good events and ``{"index", "errors"}`` for the bad ones."""
    current = now or _utcnow()
    good: list[UsageEvent] = []
    rejected: list[dict[str, Any]] = []
    for index, raw in enumerate(raws):
        try:
            good.append(parse_event(raw, now=current))
        except EventRejected as exc:
            rejected.append({"index": index, "errors": exc.errors})
    return good, rejected


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
