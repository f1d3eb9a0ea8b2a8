"""Password hashing with argon2id (parameters from ``Settings``; hashes carry their own, so
changing the settings only affects new hashes, and a login re-hashes an outdated one)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from llmledger.settings import Settings

MIN_LENGTH = 8
MAX_LENGTH = 1024  # argon2 takes any length; this only bounds the work a request can ask for
_PARALLELISM = 4


class WeakPassword(ValueError):
    """A password that is refused before it is hashed."""


@cache
def _hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost,
        memory_cost=max(memory_kib, 8 * _PARALLELISM),
        parallelism=_PARALLELISM,
        type=Type.ID,
    )


def hasher_for(settings: Settings) -> PasswordHasher:
    return _hasher(settings.password_time_cost, settings.password_memory_kib)


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a password has at most {MAX_LENGTH} characters")
    if password.strip() != password or "\x00" in password:
        raise WeakPassword("a password must not start or end with spaces or contain NUL")


def hash_password(hasher: PasswordHasher, password: str) -> str:
    check_strength(password)
    return hasher.hash(password)


def verify_password(hasher: PasswordHasher, stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``. With no stored hash (unknown user, or a user
    without a password) a dummy hash is still verified, so timing does not tell them apart."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return hasher.verify(stored or _dummy(hasher), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _dummy(hasher: PasswordHasher) -> str:
    return _dummy_for(hasher.time_cost, hasher.memory_cost)


@cache
def _dummy_for(time_cost: int, memory_kib: int) -> str:
    return _hasher(time_cost, memory_kib).hash("not a password of anyone")
