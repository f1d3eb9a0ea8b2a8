"""Budget alerts: rules, their evaluation from the rollups, firings and the delivery outbox."""
