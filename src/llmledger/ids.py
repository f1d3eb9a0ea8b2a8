"""Time-ordered event ids (UUIDv7, RFC 9562): the first 48 bits are the Unix time in
milliseconds, so ids made close together sort together and index inserts stay local."""

from __future__ import annotations

import os
import uuid


def uuid7(unix_ms: int | None = None, rand: int | None = None) -> uuid.UUID:
    """A UUIDv7 for ``unix_ms`` (default: now) with 74 random bits (``rand``, default: urandom)."""
    if unix_ms is None:
        import time

        unix_ms = time.time_ns() // 1_000_000
    if rand is None:
        rand = int.from_bytes(os.urandom(10))
    rand &= (1 << 74) - 1
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= (rand >> 62) << 64  # rand_a: 12 bits
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # rand_b: 62 bits
    return uuid.UUID(int=value)
