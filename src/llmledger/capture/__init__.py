"""Capture: the SDK side of llmledger (exporter, attribution, client wrappers)."""
