"""The demo's traffic and its provider reports (``llmledger.providers.demo``) in a ledger of
their own, at a fixed instant, read through the in-process app: what the provider pages show
after ``llmledger serve --demo``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from llmledger.auth.tokens import create_api_token
from llmledger.demo import write_demo
from llmledger.ledger import Ledger
from llmledger.providers.demo import write_demo_reports
from llmledger.server.app import create_app
from llmledger.settings import Settings

#: a Monday noon, so weeks and months have edges inside the range
NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
EVENTS = 8_000
DAYS = 40


def back(days: int) -> str:
    """The UTC day ``days`` before today."""
    return (TODAY - dt.timedelta(days=days)).isoformat()


@dataclass
class DemoData:
    ledger: Ledger
    client: TestClient
    admin: dict[str, str]
    viewer: dict[str, str]
    reports_written: int


def open_demo(settings: Settings) -> Iterator[DemoData]:
    ledger = Ledger.open(settings, upgrade=False)
    ledger.reload_prices()
    try:
        write_demo(ledger.write, events=EVENTS, days=DAYS, now=NOW, seed=7)
        written = write_demo_reports(ledger.engine, now=NOW)
        with ledger.engine.begin() as conn:
            admin = create_api_token(conn, role="admin", name="admin")[1]
            viewer = create_api_token(conn, role="viewer", name="viewer", org_id="acme")[1]
        app = create_app(ledger=ledger, clock=lambda: NOW)
        with TestClient(app, base_url="http://testserver") as client:
            yield DemoData(
                ledger,
                client,
                {"Authorization": f"Bearer {admin}"},
                {"Authorization": f"Bearer {viewer}"},
                written,
            )
    finally:
        ledger.close()


def settings_in(path: Path, template: object) -> Settings:
    settings: Settings = template.settings_for(path)  # type: ignore[attr-defined]
    return settings
