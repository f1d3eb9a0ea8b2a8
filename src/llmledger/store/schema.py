"""Every table, registered on one ``MetaData`` (imported by Alembic and the tests)."""

import llmledger.alerts.tables
import llmledger.auth.tables
import llmledger.pricing.tables
import llmledger.providers.tables
import llmledger.store.tables  # noqa: F401  (importing a table module registers its tables)
from llmledger.store.metadata import metadata

__all__ = ["metadata"]
