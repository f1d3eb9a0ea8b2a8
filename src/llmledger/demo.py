"""Realistic synthetic traffic, written through the real event writer.

About 20 organisations, the agents IRIS, CIA, JAA, CDA, EAA, WFA and COIA, users and multi-call
sessions, four providers with real model names (priced by the catalog, OpenRouter with its own
reported cost), cache and reasoning tokens, weekday/weekend and hour-of-day rhythm, a few
failures, one cost spike and one model no catalog knows. Event ids come from the seed, so running
the demo twice writes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from llmledger.events import UsageEvent
from llmledger.ids import uuid7

AGENTS = ("IRIS", "CIA", "JAA", "CDA", "EAA", "WFA", "COIA")
OPERATIONS = ("summarize", "classify", "extract", "chat", "plan", "draft-email", "embed", "review")
ORG_NAMES = (
    "acme",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "stark",
    "wayne",
    "wonka",
    "tyrell",
    "cyberdyne",
    "soylent",
    "aperture",
    "blackmesa",
    "oscorp",
    "vandelay",
    "pied-piper",
    "dunder-mifflin",
    "massive-dynamic",
    "gringotts",
    "monarch",
)


@dataclass(frozen=True)
class ModelProfile:
    provider: str
    model: str
    weight: float
    input_mean: int
    output_mean: int
    cache_share: float = 0.0  # share of calls with cache reads
    reasoning: bool = False
    tier: str = "standard"
    or_rate: tuple[Decimal, Decimal] | None = None  # OpenRouter's own $/1M (in, out)
    embedding: bool = False


MODELS = (
    ModelProfile("openai", "gpt-4o", 14, 2400, 450, 0.35, tier="standard"),
    ModelProfile("openai", "gpt-4o-mini", 22, 1800, 300, 0.30, tier="cheap"),
    ModelProfile("openai", "gpt-4.1", 6, 5200, 700, 0.40, tier="standard"),
    ModelProfile("openai", "o3", 3, 3000, 2600, 0.2, reasoning=True, tier="premium"),
    ModelProfile("openai", "text-embedding-3-small", 6, 900, 0, tier="cheap", embedding=True),
    ModelProfile("anthropic", "claude-sonnet-4-20250514", 14, 6000, 800, 0.5, tier="standard"),
    ModelProfile("anthropic", "claude-3-5-haiku-20241022", 10, 2500, 350, 0.4, tier="cheap"),
    ModelProfile("anthropic", "claude-opus-4-1-20250805", 2, 8000, 1200, 0.5, tier="premium"),
    ModelProfile(
        "openrouter", "openai/gpt-4o-mini", 5, 1500, 280, or_rate=(Decimal("0.15"), Decimal("0.6"))
    ),
    ModelProfile(
        "openrouter",
        "anthropic/claude-3.5-sonnet",
        3,
        3500,
        500,
        or_rate=(Decimal("3"), Decimal("15")),
    ),
    ModelProfile("groq", "llama-3.3-70b-versatile", 7, 2000, 400, tier="cheap"),
    ModelProfile("groq", "llama-3.1-8b-instant", 7, 1200, 250, tier="cheap"),
    ModelProfile("selfhosted", "acme-internal-llm-v2", 0.6, 1500, 300, tier="cheap"),
)

_ID_EPOCH_MS = 1_704_067_200_000  # 2024-01-01: demo ids are deterministic, not timestamps

_HOUR_WEIGHTS = tuple(
    0.15
    if h < 6
    else 0.5
    if h < 8
    else 1.0
    if h < 12
    else 1.25
    if h < 17
    else 0.7
    if h < 20
    else 0.3
    for h in range(24)
)


class Demo:
    """A deterministic stream of demo events ending at ``now``."""

    def __init__(self, *, events: int, days: int, now: dt.datetime, seed: int = 7) -> None:
        self.target = events
        self.days = days
        self.now = now.astimezone(dt.UTC)
        self.rng = random.Random(seed)
        self._ids = random.Random(seed * 7919 + 1)
        self._made = 0
        self.orgs = self._orgs()
        self.spike_day = max(1, min(days - 1, 12))  # a day roughly two weeks back

    def _orgs(self) -> list[tuple[str, float, list[str], tuple[str, ...]]]:
        rng = self.rng
        orgs = []
        for i, name in enumerate(ORG_NAMES):
            size = 1.0 / (1 + i * 0.35)  # a few big customers, a long tail
            users = [f"{name}-u{n:02d}" for n in range(rng.randint(3, 25))]
            agents = tuple(rng.sample(AGENTS, rng.randint(2, 5)))
            orgs.append((name, size, users, agents))
        return orgs

    def _uuid(self) -> uuid.UUID:
        # The n-th event of a seed always gets the same id, whatever day the demo runs on, so a
        # second run is all duplicates. Ids ascend, as a live client's UUIDv7 ids do.
        self._made += 1
        return uuid7(_ID_EPOCH_MS + self._made, self._ids.getrandbits(74))

    def _moment(self) -> dt.datetime:
        rng = self.rng
        while True:
            days_back = rng.randrange(self.days)
            day = (self.now - dt.timedelta(days=days_back)).date()
            weight = 0.35 if day.weekday() >= 5 else 1.0
            if rng.random() < weight:
                break
        hour = rng.choices(range(24), _HOUR_WEIGHTS)[0]
        start = dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)
        moment = start + dt.timedelta(seconds=rng.randrange(3600))
        if moment > self.now - dt.timedelta(minutes=5):
            moment = self.now - dt.timedelta(minutes=rng.randint(5, 600))
        return moment

    def __iter__(self) -> Iterator[UsageEvent]:
        rng = self.rng
        produced = 0
        weights = [m.weight for m in MODELS]
        org_weights = [o[1] for o in self.orgs]
        spike_date = (self.now - dt.timedelta(days=self.spike_day)).date()
        spike_budget = self.target // 40  # one org's runaway loop on one day
        session_no = 0
        while produced < self.target:
            session_no += 1
            org, _, users, agents = rng.choices(self.orgs, org_weights)[0]
            moment = self._moment()
            spike = False
            if spike_budget > 0 and rng.random() < 0.03:
                org, _, users, agents = self.orgs[2]
                moment = dt.datetime.combine(spike_date, dt.time(rng.randrange(9, 18)), dt.UTC)
                spike = True
            user = rng.choice(users)
            calls = 1 + int(rng.expovariate(1 / 3.5))
            if spike:
                calls = min(calls * 6, 60)
            session = f"{org}-s{session_no:07d}"
            agent = rng.choice(agents)
            profile = MODELS[7] if spike else rng.choices(MODELS, weights)[0]
            for step in range(calls):
                if produced >= self.target:
                    return
                if rng.random() < 0.15:
                    agent = rng.choice(agents)
                    profile = rng.choices(MODELS, weights)[0]
                moment += dt.timedelta(seconds=rng.randint(1, 40))
                if moment > self.now:
                    moment = self.now - dt.timedelta(seconds=1)
                yield self._event(profile, org, user, agent, session, step, moment)
                produced += 1
                if spike:
                    spike_budget -= 1

    def _event(
        self,
        p: ModelProfile,
        org: str,
        user: str,
        agent: str,
        session: str,
        step: int,
        moment: dt.datetime,
    ) -> UsageEvent:
        rng = self.rng
        inp = max(8, int(rng.lognormvariate(0, 0.6) * p.input_mean))
        out = 0 if p.embedding else max(1, int(rng.lognormvariate(0, 0.7) * p.output_mean))
        cache_read = cw5 = 0
        if p.cache_share and rng.random() < p.cache_share:
            cache_read = int(inp * rng.uniform(0.3, 0.9))
            if p.provider == "anthropic" and rng.random() < 0.3:
                cw5 = int((inp - cache_read) * rng.uniform(0.2, 0.8))
        reasoning = int(out * rng.uniform(0.4, 0.85)) if p.reasoning else 0
        failed = rng.random() < 0.018
        status = rng.choice((429, 500, 503, 400)) if failed else 200
        latency = int(200 + inp * 0.02 + out * rng.uniform(8, 25))
        cost = None
        if p.or_rate is not None:
            cost = (inp * p.or_rate[0] + out * p.or_rate[1]) / Decimal(1_000_000)
        if failed:
            out = reasoning = 0
            cost = Decimal(0) if cost is not None else None
        return UsageEvent(
            event_id=self._uuid(),
            timestamp=moment,
            provider=p.provider,
            model=p.model,
            org_id=org,
            user_id=user,
            agent=agent,
            session_id=session,
            agent_session_id=f"{session}-{agent.lower()}",
            agent_execution_id=f"{session}-x{step:03d}",
            operation="embed" if p.embedding else rng.choice(OPERATIONS),
            tier=p.tier,
            input_tokens=inp,
            output_tokens=out,
            cache_read_tokens=cache_read,
            cache_write_5m_tokens=cw5,
            reasoning_tokens=reasoning,
            latency_ms=latency,
            time_to_first_token_ms=int(latency * rng.uniform(0.1, 0.4)),
            success=not failed,
            status_code=status,
            error_type=None
            if not failed
            else {429: "rate_limit", 400: "bad_request"}.get(status, "server_error"),
            request_id=f"req_{self.rng.getrandbits(64):016x}",
            stream=rng.random() < 0.4,
            cost_usd=cost,
        )


def write_demo(
    write: Callable[[list[UsageEvent]], object],
    *,
    events: int = 200_000,
    days: int = 90,
    now: dt.datetime | None = None,
    seed: int = 7,
    chunk: int = 5_000,
    progress: Callable[[int], object] | None = None,
) -> int:
    """Generate and write the demo traffic in chunks; returns the number of events generated."""
    demo = Demo(events=events, days=days, now=now or dt.datetime.now(dt.UTC), seed=seed)
    batch: list[UsageEvent] = []
    total = 0
    for event in demo:
        batch.append(event)
        if len(batch) >= chunk:
            write(batch)
            total += len(batch)
            if progress:
                progress(len(batch))
            batch = []
    if batch:
        write(batch)
        total += len(batch)
        if progress:
            progress(len(batch))
    return total
