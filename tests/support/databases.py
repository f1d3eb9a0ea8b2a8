"""Test databases: a migrated SQLite template copied per test, and one PostgreSQL database per
test session, emptied between tests (its seeded price rows are put back)."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from llmledger.ledger import Ledger
from llmledger.settings import Settings

PG_URL_ENV = "LLMLEDGER_TEST_PG_URL"
DEFAULT_PG_URL = "postgresql+psycopg://llmledger:llmledger@127.0.0.1:5432/postgres"


def pg_admin_url() -> str:
    return os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)


def pg_reachable() -> str | None:
    """``None`` when PostgreSQL answers, else the reason it does not."""
    try:
        eng = sa.create_engine(pg_admin_url())
        with eng.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        eng.dispose()
    except Exception as exc:
        return str(exc).splitlines()[0]
    return None


class SqliteTemplate:
    def __init__(self, root: Path) -> None:
        self.path = root / "template.db"
        settings = Settings(data_dir=root / "template", database_url=f"sqlite:///{self.path}")
        ledger = Ledger.open(settings)
        ledger.close()

    def settings_for(self, data_dir: Path, *, writer: str = "thread") -> Settings:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = data_dir / "llmledger.db"
        shutil.copyfile(self.path, target)
        target.chmod(0o600)  # as llmledger makes it (else every start warns)
        return Settings(data_dir=data_dir, database_url=f"sqlite:///{target}", writer=writer)


class PostgresDatabase:
    def __init__(self) -> None:
        self.name = f"llmledger_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
        admin.dispose()
        self.url = (
            sa.make_url(pg_admin_url())
            .set(database=self.name)
            .render_as_string(hide_password=False)
        )
        ledger = Ledger.open(Settings(database_url=self.url))
        self._snapshot = self._capture(ledger.engine)
        ledger.close()

    def _capture(self, engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
        from llmledger.store.schema import metadata

        snap = {}
        with engine.connect() as conn:
            for table in metadata.sorted_tables:
                rows = [dict(r._mapping) for r in conn.execute(sa.select(table))]
                if rows:
                    snap[table.name] = rows
        return snap

    def reset(self, engine: sa.Engine) -> None:
        """Empty every table, then put back what the migration and seeding wrote."""
        from llmledger.store.schema import metadata

        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            for table in metadata.sorted_tables:
                rows = self._snapshot.get(table.name)
                if rows:
                    conn.execute(table.insert(), rows)
            for table in metadata.sorted_tables:
                # keep sequences ahead of the restored ids
                pk = [
                    c
                    for c in table.primary_key.columns
                    if c.autoincrement is True
                    or (
                        c.autoincrement == "auto"
                        and isinstance(c.type, sa.Integer)
                        and len(table.primary_key.columns) == 1
                    )
                ]
                if pk and self._snapshot.get(table.name):
                    col = pk[0].name
                    conn.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', '{col}'), "
                            f'(SELECT COALESCE(MAX("{col}"), 0) + 1 FROM "{table.name}"), false)'
                        )
                    )

    def settings_for(self, data_dir: Path, *, writer: str = "thread") -> Settings:
        data_dir.mkdir(parents=True, exist_ok=True)
        return Settings(data_dir=data_dir, database_url=self.url, writer=writer)

    def drop(self) -> None:
        admin = sa.create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        admin.dispose()
