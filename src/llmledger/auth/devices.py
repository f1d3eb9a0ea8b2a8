"""Known browsers: a browser that logged in to an account gets a signed device cookie, and
password checks of that account from it are counted on a counter of its own
(``auth.throttle``), so an attacker's guesses can never lock its owner out.

The cookie holds the account's email and a random id, signed with the secret key; it grants
nothing by itself (the password is still checked) and the database keeps nothing of it but
the counter of its failures.
"""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "llmledger_device"
LIFETIME_S = 365 * 24 * 3600
_SALT = "llmledger.device"
_MAX_COOKIE = 800


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT)


def device_cookie(secret_key: str, email: str) -> str:
    """A new device cookie for a browser that just logged in as ``email``."""
    return _serializer(secret_key).dumps([email.strip().lower(), secrets.token_urlsafe(16)])


def known_device(secret_key: str, value: str | None, email: str) -> str | None:
    """The id of the browser holding cookie ``value`` if it logged in as ``email`` before;
    ``None`` for no cookie, another account's, a forged or an expired one."""
    if not value or len(value) > _MAX_COOKIE:
        return None
    try:
        found = _serializer(secret_key).loads(value, max_age=LIFETIME_S)
    except (BadSignature, ValueError, TypeError):
        return None
    if not (isinstance(found, list) and len(found) == 2 and all(isinstance(v, str) for v in found)):
        return None
    owner, device = found
    return device if owner == email.strip().lower() and device else None
