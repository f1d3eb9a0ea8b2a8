"""OpenTelemetry in: OTLP trace bodies (``spans``), a GenAI span as a usage event (``mapping``),
and a request's spans as one batch for the writer (``batch``). ``server.ingest.otlp`` serves it
as ``POST /v1/traces``; docs/otel.md describes the mapping."""
