"""Docs are tested: every setting, command and route is documented."""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import SecretStr

from llmledger.cli import main
from llmledger.server.app import create_app
from llmledger.settings import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _all_docs() -> str:
    return "\n".join(p.read_text() for p in DOCS.glob("*.md"))


def test_every_setting_is_in_settings_md():
    text = (DOCS / "settings.md").read_text()
    missing = [
        f"LLMLEDGER_{name.upper()}"
        for name in Settings.model_fields
        if f"`LLMLEDGER_{name.upper()}`" not in text
    ]
    assert not missing, f"undocumented settings: {missing}"


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    out = []
    for name, cmd in group.commands.items():
        full = f"{prefix}{name}"
        if isinstance(cmd, click.Group):
            out += _commands(cmd, full + " ")
        else:
            out.append(full)
    return out


def test_every_command_is_in_cli_md():
    text = (DOCS / "cli.md").read_text()
    missing = [c for c in _commands(main) if f"llmledger {c}" not in text]
    assert not missing, f"undocumented commands: {missing}"


def test_every_route_is_documented():
    app = create_app(Settings(database_url="sqlite://", secret_key=SecretStr("docs-test")))
    # the OpenAPI description lists every operation, including those of included routers
    paths = list(app.openapi()["paths"])
    assert "/api/v1/events" in paths and "/api/v1/admin/llm-costs/global" in paths
    text = _all_docs()
    missing = []
    for path in paths:
        short = path.removeprefix("/api/v1/admin/llm-costs")
        if path not in text and f"`{short}" not in text and f"{short}`" not in text:
            missing.append(path)
    assert not missing, f"undocumented routes: {missing}"


def test_docs_page_needs_nothing_from_the_internet():
    from fastapi.testclient import TestClient

    app = create_app(Settings(database_url="sqlite://", secret_key=SecretStr("docs-test")))
    with TestClient(app) as c:
        r = c.get("/docs", follow_redirects=False)
        assert r.status_code == 307 and r.headers["location"] == "/api/reference"
        assert c.get("/redoc").status_code in (401, 404)
