"""The process's own metrics, served as Prometheus text by ``GET /metrics`` (docs/metrics.md).

One ``Metrics`` per process, made on first use by ``metrics()``, so any layer can count
without being handed an object: ingest routes, the writer, price reloads, and the hooks that
alert delivery and provider imports call (``alert_evaluated``, ``alert_delivered``,
``import_ran``). Counters are process-wide, as Prometheus expects of one scrape target; tests
compare them before and after the traffic they make.

No label holds an organisation, a user or a model name: their number is unbounded, and a
scraper sees every tenant.
"""

from __future__ import annotations

import threading

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)

#: the content type of the Prometheus text format
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: ingest paths (the ``path`` label): HTTP JSON, OTLP traces, the demo, SDK direct mode
PATHS = ("http", "otlp", "demo", "direct")

_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_GROUP = (1, 10, 100, 1000, 5000, 10_000, 50_000)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        self.events = Counter(
            "llmledger_ingest_events",
            "Events offered for writing, by ingest path and outcome "
            "(accepted, duplicate, rejected).",
            ["path", "outcome"],
            registry=r,
        )
        self.spans_ignored = Counter(
            "llmledger_otlp_spans_ignored",
            "OTLP spans that became no event: no-usage, or not-a-model-call.",
            ["reason"],
            registry=r,
        )
        self.requests = Histogram(
            "llmledger_ingest_request_seconds",
            "Time to answer an ingest request, by path and HTTP status.",
            ["path", "status"],
            buckets=_LATENCY,
            registry=r,
        )
        self.group_events = Histogram(
            "llmledger_writer_group_events",
            "Events in one group-commit transaction of the writer.",
            buckets=_GROUP,
            registry=r,
        )
        self.commit_seconds = Histogram(
            "llmledger_writer_commit_seconds",
            "Time the writer takes to commit one group (with a writer process: send to answer).",
            buckets=_LATENCY,
            registry=r,
        )
        self.queue_depth = Gauge(
            "llmledger_writer_queue_depth",
            "Batches waiting for the writer (read at scrape time).",
            registry=r,
        )
        self.groups_in_flight = Gauge(
            "llmledger_writer_groups_in_flight",
            "Groups sent to the writer process and not answered yet (read at scrape time).",
            registry=r,
        )
        self.alert_evaluations = Counter(
            "llmledger_alert_evaluations",
            "Alert rule evaluations, by outcome (ok, fired, error).",
            ["outcome"],
            registry=r,
        )
        self.alert_deliveries = Counter(
            "llmledger_alert_deliveries",
            "Alert deliveries, by channel (email, slack, webhook) and outcome (sent, failed).",
            ["channel", "outcome"],
            registry=r,
        )
        self.import_runs = Counter(
            "llmledger_import_runs",
            "Provider usage/cost report imports, by provider and outcome (ok, failed).",
            ["provider", "outcome"],
            registry=r,
        )
        self.price_reloads = Counter(
            "llmledger_price_reloads", "Reloads of the in-memory price book.", registry=r
        )
        for path in PATHS:  # present from the first scrape, at zero
            for outcome in ("accepted", "duplicate", "rejected"):
                self.events.labels(path, outcome)
        for reason in ("no-usage", "not-a-model-call"):
            self.spans_ignored.labels(reason)
        process_collector.ProcessCollector(registry=r)
        platform_collector.PlatformCollector(registry=r)
        gc_collector.GCCollector(registry=r)

    # -- the hooks -------------------------------------------------------------------------
    def written(self, path: str, *, accepted: int, duplicates: int, rejected: int = 0) -> None:
        """Count a batch's outcome on ingest ``path`` (one of ``PATHS``)."""
        if accepted:
            self.events.labels(path, "accepted").inc(accepted)
        if duplicates:
            self.events.labels(path, "duplicate").inc(duplicates)
        if rejected:
            self.events.labels(path, "rejected").inc(rejected)

    def alert_evaluated(self, outcome: str) -> None:
        self.alert_evaluations.labels(outcome).inc()

    def alert_delivered(self, channel: str, outcome: str) -> None:
        self.alert_deliveries.labels(channel, outcome).inc()

    def import_ran(self, provider: str, outcome: str) -> None:
        self.import_runs.labels(provider, outcome).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


_metrics: Metrics | None = None
_lock = threading.Lock()


def metrics() -> Metrics:
    """The process's metrics (made on first use)."""
    global _metrics
    found = _metrics
    if found is None:
        with _lock:
            if _metrics is None:
                _metrics = Metrics()
            found = _metrics
    return found
