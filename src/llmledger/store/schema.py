"""Every table, registered on one ``MetaData`` (imported by Alembic and the tests)."""

import llmledger.store.tables  # noqa: F401  (registers the store's tables)
from llmledger.store.metadata import metadata

__all__ = ["metadata"]
