"""Callers of every role for the alerts API, and the real SMTP server and HTTP receiver that
receive what the alerts send."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmledger.auth.tokens import create_api_token, create_ingest_key
from llmledger.ledger import Ledger
from tests.alerts.receivers import HttpReceiver, Mailbox


@pytest.fixture
def callers(ledger: Ledger) -> dict[str, dict[str, str]]:
    """Headers by name: admin, acme's org admin and viewer, globex's org admin, acme's key."""
    out = {}
    with ledger.engine.begin() as conn:
        for name, role, org in [
            ("admin", "admin", None),
            ("acme admin", "org_admin", "acme"),
            ("acme viewer", "viewer", "acme"),
            ("globex admin", "org_admin", "globex"),
        ]:
            out[name] = create_api_token(conn, role=role, name=name, org_id=org)[1]
        out["acme key"] = create_ingest_key(conn, org_id="acme", name="acme key")[1]
    return {k: {"Authorization": f"Bearer {v}"} for k, v in out.items()}


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with Mailbox() as box:
        yield box


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as r:
        yield r
