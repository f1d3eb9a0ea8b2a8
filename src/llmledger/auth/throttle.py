"""Password guessing, throttled so that an attacker cannot lock the owner out.

Every password check (a login, or the current password of a password change) is *reserved*
before argon2 runs: one short write transaction counts the try against each counter that
applies and refuses it when one is over its limit. The count and the check are one step, so
fifty parallel tries of one account check at most the limit's number of passwords. Counters
live in the database (``login_failures``), so every app node sees the same counts; each is
one ``INSERT .. ON CONFLICT DO UPDATE .. RETURNING``, which PostgreSQL serialises per row and
SQLite per database.

Which counters apply (docs/access.md, "Throttling"):

- a browser that logged in to this account before (it holds a signed device cookie): only
  that browser's own counter. Guesses made elsewhere never lock it out;
- any other client: the account *from this address* and the address itself, which refuse
  (429) when over their limits, and the account from every address together, whose much
  higher limit spaces tries out (one per ``window / limit``) instead of refusing them.

A right password gives its try back (a success is not a failure) and clears the counter of
this account at this address or browser. A browser whose own counter is full is treated as
an unknown one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, select, text
from sqlalchemy.exc import DBAPIError

from llmledger.auth.tables import login_failures
from llmledger.auth.writing import writing
from llmledger.settings import Settings

log = logging.getLogger(__name__)

EMAIL_MAX = 320
ADDRESS_MAX = 64


@dataclass(frozen=True, slots=True)
class Limits:
    per_pair: int  # one account from one address, or from one known browser
    per_address: int  # every account from one address
    per_account: int  # one account from everywhere; beyond it tries are spaced out
    window_us: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            settings.login_max_failures,
            settings.login_max_failures_per_address,
            settings.login_max_failures_per_account,
            settings.login_window_minutes * 60 * 1_000_000,
        )

    @property
    def spacing_us(self) -> int:
        """Time between two tries of an account that is over its limit."""
        return max(self.window_us // self.per_account, 1_000_000)


class Throttled(Exception):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed password checks; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class Attempt:
    """A reserved try. A right password settles it with ``succeeded``."""

    returned: tuple[str, ...]  # counters the try is given back to
    cleared: tuple[str, ...]  # counters a right password clears


@dataclass(frozen=True, slots=True, order=True)
class _Counter:
    key: str
    limit: int
    spaced: bool = False  # over the limit: one try per spacing, not a refusal


_COUNT = text(
    "INSERT INTO login_failures (key, failures, window_start_us) VALUES (:key, 1, :at) "
    "ON CONFLICT (key) DO UPDATE SET "
    "failures = CASE WHEN login_failures.window_start_us <= :stale THEN 1 "
    "ELSE login_failures.failures + 1 END, "
    "window_start_us = CASE WHEN login_failures.window_start_us <= :stale THEN :at "
    "ELSE login_failures.window_start_us END "
    "RETURNING failures, window_start_us"
)
_CLAIM = text(
    "INSERT INTO login_failures (key, failures, window_start_us) VALUES (:key, 1, :at) "
    "ON CONFLICT (key) DO NOTHING"
)
_GIVE_BACK = text(
    "UPDATE login_failures SET failures = failures - 1 WHERE key = :key AND failures > 0"
)


def _account(email: str) -> str:
    return email.strip().lower()[:EMAIL_MAX]


def _ceil_s(us: int) -> int:
    return max(1, -(-us // 1_000_000))


def reserve(
    engine: Engine,
    *,
    email: str,
    ip: str | None,
    device: str | None,
    limits: Limits,
    at_us: int,
) -> Attempt:
    """Count one password check of ``email`` from ``ip`` (and the known browser ``device``,
    if any) before it is made; raises ``Throttled`` when it may not be made now."""
    account = _account(email)
    if device:
        own = _Counter(f"device:{device}", limits.per_pair)
        try:
            _count(engine, [own], limits, at_us)
            return Attempt(returned=(), cleared=(own.key,))
        except Throttled:
            pass  # a browser locked by its own failures is an unknown one again
    address = (ip or "")[:ADDRESS_MAX]
    pair = _Counter(f"pair:{account}|{address}", limits.per_pair)
    everywhere = _Counter(f"account:{account}", limits.per_account, spaced=True)
    counters = [pair, everywhere]
    if address:
        counters.append(_Counter(f"addr:{address}", limits.per_address))
    _count(engine, counters, limits, at_us)
    return Attempt(returned=tuple(c.key for c in counters if c is not pair), cleared=(pair.key,))


def _count(engine: Engine, counters: list[_Counter], limits: Limits, at_us: int) -> None:
    """Count a try on every counter in one transaction, or on none (refused: rolled back)."""
    stale = at_us - limits.window_us
    with writing(engine) as conn:
        # one order for every transaction, so two of them never wait for each other's rows
        for counter in sorted(counters):
            failures, start = conn.execute(
                _COUNT, {"key": counter.key, "at": at_us, "stale": stale}
            ).one()
            if failures <= counter.limit:
                continue
            if not counter.spaced:
                raise Throttled(_ceil_s(start + limits.window_us - at_us))
            slot = at_us // limits.spacing_us
            claim = {"key": f"slot:{counter.key}:{slot}", "at": at_us}
            if conn.execute(_CLAIM, claim).rowcount != 1:
                raise Throttled(_ceil_s((slot + 1) * limits.spacing_us - at_us))


def succeeded(conn: Connection, attempt: Attempt) -> None:
    """The password was right: give the try back, and clear this address's (or browser's)
    count for the account. Runs in the caller's transaction."""
    for key in attempt.returned:
        conn.execute(_GIVE_BACK, {"key": key})
    if attempt.cleared:
        conn.execute(delete(login_failures).where(login_failures.c.key.in_(attempt.cleared)))


def forget_stale(engine: Engine, *, limits: Limits, at_us: int) -> None:
    """Drop counters of windows long gone (guessed emails, say); called after a failure.
    Rows another transaction holds are skipped rather than waited for."""
    lf = login_failures.c
    gone = (
        select(lf.key)
        .where(lf.window_start_us < at_us - 2 * limits.window_us)
        .limit(1000)
        .with_for_update(skip_locked=True)
    )
    try:
        with writing(engine) as conn:
            conn.execute(delete(login_failures).where(lf.key.in_(gone)))
    except DBAPIError as exc:  # tidying up; the next failure tries again
        log.debug("could not drop stale login counters: %s", exc)
