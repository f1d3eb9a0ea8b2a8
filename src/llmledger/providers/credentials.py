"""Provider keys stored by an admin (``PUT /api/v1/admin/providers/{provider}/credentials``):
encrypted at rest with Fernet under a key derived from the server secret
(``LLMLEDGER_SECRET_KEY`` or ``<data_dir>/secret_key``, HKDF-SHA256), never returned; what is
shown is that a key is set, its last four characters, when it was set and last used.

A stored key wins over the environment variable (``OPENAI_ADMIN_KEY``, ...). A stored key that
no longer decrypts (the server secret changed) is an error naming the fix, not a silent
fall-back to the environment."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, Engine, delete, insert, select, update

from llmledger.analytics.window import iso
from llmledger.providers.errors import ReportError
from llmledger.providers.tables import provider_credentials

_INFO = b"llmledger provider credentials v1"
MAX_KEY_CHARS = 512


def fernet(secret: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def check_key(key: str) -> str:
    text = key.strip()
    if len(text) < 8:
        raise ValueError("key: too short to be a provider key")
    if len(text) > MAX_KEY_CHARS or any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise ValueError("key: not a provider key (no spaces or control characters)")
    return text


def store(
    conn: Connection, provider: str, key: str, *, secret: str, now_us: int, by: str
) -> dict[str, Any]:
    """Encrypt and keep ``key`` for ``provider`` (replacing any before); the shown status."""
    text = check_key(key)
    token = fernet(secret).encrypt(text.encode()).decode()
    values = {"ciphertext": token, "last_four": text[-4:], "set_us": now_us, "set_by": by}
    c = provider_credentials.c
    changed = conn.execute(
        update(provider_credentials)
        .where(c.provider == provider)
        .values(**values, last_used_us=None)
    ).rowcount
    if not changed:
        conn.execute(insert(provider_credentials).values(provider=provider, **values))
    return status(conn, provider)


def forget(conn: Connection, provider: str) -> bool:
    c = provider_credentials.c
    return bool(conn.execute(delete(provider_credentials).where(c.provider == provider)).rowcount)


def status(conn: Connection, provider: str) -> dict[str, Any]:
    c = provider_credentials.c
    row = conn.execute(select(provider_credentials).where(c.provider == provider)).first()
    if row is None:
        return {
            "provider": provider,
            "keySet": False,
            "lastFour": None,
            "setAt": None,
            "setBy": None,
            "lastUsedAt": None,
        }
    return {
        "provider": provider,
        "keySet": True,
        "lastFour": row.last_four,
        "setAt": iso(row.set_us),
        "setBy": row.set_by,
        "lastUsedAt": iso(row.last_used_us) if row.last_used_us is not None else None,
    }


def stored_key(engine: Engine, provider: str, *, secret: str, now_us: int) -> str | None:
    """The stored key of ``provider`` (its use noted), or ``None`` when none is stored."""
    c = provider_credentials.c
    with engine.begin() as conn:
        token = conn.execute(
            select(c.ciphertext).where(c.provider == provider)
        ).scalar_one_or_none()
        if token is None:
            return None
        try:
            key = fernet(secret).decrypt(token.encode()).decode()
        except InvalidToken:
            raise ReportError(
                f"{provider}: the stored key cannot be decrypted (the server secret changed); "
                f"set it again with PUT /api/v1/admin/providers/{provider}/credentials"
            ) from None
        conn.execute(
            update(provider_credentials).where(c.provider == provider).values(last_used_us=now_us)
        )
    return key


def stored_providers(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(provider_credentials.c.provider)).scalars())
