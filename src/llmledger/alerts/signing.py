"""The signature of webhook deliveries, and the check a receiver makes.

Each webhook request carries ``X-LLMLedger-Signature: t=<unix seconds>,v1=<hex>``, where
``<hex>`` is HMAC-SHA256, keyed with the rule's webhook secret, of the bytes
``<unix seconds>.<body>`` — the timestamp, a full stop, and the request body exactly as sent.
Signing the timestamp with the body lets a receiver refuse an old request replayed at it: it
checks the signature *and* that ``t`` is within a few minutes of its own clock.

``verify`` uses nothing but the standard library so receivers can copy it (docs/alerts.md).
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = ["HEADER", "TOLERANCE_SECONDS", "sign", "signature_header", "verify"]

HEADER = "X-LLMLedger-Signature"
#: how far a request's timestamp may be from the receiver's clock
TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``<timestamp>.<body>`` keyed with ``secret``."""
    message = str(int(timestamp)).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The value of the ``X-LLMLedger-Signature`` header of a request sent at ``timestamp``."""
    return f"t={int(timestamp)},v1={sign(secret, timestamp, body)}"


def verify(
    secret: str,
    body: bytes,
    header: str,
    *,
    tolerance_seconds: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether ``header`` (the ``X-LLMLedger-Signature`` value) signs ``body`` (the raw request
    body, before any JSON parsing) with ``secret``, at a time within ``tolerance_seconds`` of
    ``now`` (default: this machine's clock). Several ``v1=`` values are accepted, any one
    matching (for a secret being rotated)."""
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, s) for s in signatures)
