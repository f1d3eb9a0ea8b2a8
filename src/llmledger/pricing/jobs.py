"""Re-pricing as a job: a row in ``reprice_jobs`` whose progress commits with each chunk, run
on a background thread (the API) or in the foreground with a progress bar (the CLI).

Any node can answer a job's status, since it lives in the database. A job whose process died
stays ``running`` with the progress of its last committed chunk; re-running the same scope is
safe (events already re-priced no longer change).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from llmledger.ids import uuid7
from llmledger.money import nanos_to_str
from llmledger.pricing.catalog import AuditSink
from llmledger.pricing.convert import iso
from llmledger.pricing.cost import Pricer
from llmledger.pricing.reprice import RepriceProgress, RepriceScope, reprice
from llmledger.pricing.tables import reprice_jobs
from llmledger.store.engine import begin_immediate
from llmledger.store.rows import from_us

log = logging.getLogger(__name__)


@contextmanager
def _writing(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        begin_immediate(conn)
        with conn.begin():
            yield conn


def create_job(
    conn: Connection, scope: RepriceScope, *, requested_by: str | None, now_us: int
) -> str:
    job_id = str(uuid7(now_us // 1000))
    conn.execute(
        reprice_jobs.insert().values(
            id=job_id,
            state="running",
            scope=scope.to_json(),
            total=0,
            scanned=0,
            changed=0,
            cost_before_nanos=0,
            delta_nanos=0,
            last_event_id=0,
            requested_by=requested_by,
            created_us=now_us,
        )
    )
    return job_id


def _save(conn: Connection, job_id: str, p: RepriceProgress, **extra: Any) -> None:
    conn.execute(
        update(reprice_jobs)
        .where(reprice_jobs.c.id == job_id)
        .values(
            total=p.total,
            scanned=p.scanned,
            changed=p.changed,
            cost_before_nanos=p.cost_before_nanos,
            delta_nanos=p.delta_nanos,
            last_event_id=p.cursor[1],
            **extra,
        )
    )


def report_json(p: RepriceProgress) -> dict[str, Any]:
    return {
        "eventsInScope": p.total,
        "eventsScanned": p.scanned,
        "eventsChanged": p.changed,
        "costBeforeUsd": nanos_to_str(p.cost_before_nanos),
        "costAfterUsd": nanos_to_str(p.cost_before_nanos + p.delta_nanos),
        "costDeltaUsd": nanos_to_str(p.delta_nanos),
    }


def get_job(conn: Connection, job_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(reprice_jobs).where(reprice_jobs.c.id == job_id)).first()
    return None if row is None else _job_json(row._mapping)


def recent_jobs(conn: Connection, *, limit: int = 20) -> list[dict[str, Any]]:
    """The latest jobs, newest first (ids are time-ordered)."""
    q = select(reprice_jobs).order_by(reprice_jobs.c.created_us.desc(), reprice_jobs.c.id.desc())
    return [_job_json(r._mapping) for r in conn.execute(q.limit(limit))]


def _job_json(m: Any) -> dict[str, Any]:
    p = RepriceProgress(
        total=m["total"],
        scanned=m["scanned"],
        changed=m["changed"],
        cost_before_nanos=m["cost_before_nanos"],
        delta_nanos=m["delta_nanos"],
    )
    done = m["state"] == "done"
    return {
        "jobId": m["id"],
        "state": m["state"],
        "scope": m["scope"],
        **report_json(p),
        "progress": 1.0 if done else (min(1.0, p.scanned / p.total) if p.total else 0.0),
        "error": m["error"],
        "requestedBy": m["requested_by"],
        "createdAt": iso(from_us(m["created_us"])),
        "finishedAt": iso(from_us(m["finished_us"])) if m["finished_us"] else None,
    }


def run_job(
    engine: Engine,
    pricer: Pricer,
    job_id: str,
    scope: RepriceScope,
    *,
    audit: AuditSink,
    clock_us: Callable[[], int],
    chunk: int = 2000,
    progress: Callable[[RepriceProgress], None] | None = None,
) -> RepriceProgress:
    """Run a created job to the end; its outcome (and the audit row) is committed either way."""

    def on_chunk(conn: Connection, p: RepriceProgress) -> None:
        _save(conn, job_id, p)
        if progress is not None:
            progress(p)

    state = RepriceProgress()
    try:
        reprice(engine, pricer, scope, chunk=chunk, progress=state, on_chunk=on_chunk)
    except Exception as exc:
        log.exception("re-pricing job %s failed", job_id)
        with _writing(engine) as conn:
            error = str(exc)[:2000]
            _save(conn, job_id, state, state="failed", error=error, finished_us=clock_us())
        raise
    with _writing(engine) as conn:
        _save(conn, job_id, state, state="done", finished_us=clock_us())
        audit.record(
            conn,
            action="price.reprice",
            target=f"reprice:{job_id}",
            before={**scope.to_json(), "costUsd": nanos_to_str(state.cost_before_nanos)},
            after=report_json(state),
        )
    return state


def start_job(
    engine: Engine,
    pricer: Pricer,
    scope: RepriceScope,
    *,
    audit: AuditSink,
    requested_by: str | None,
    clock_us: Callable[[], int],
) -> str:
    """Create a job and run it on a daemon thread; returns its id at once."""
    with _writing(engine) as conn:
        job_id = create_job(conn, scope, requested_by=requested_by, now_us=clock_us())

    def work() -> None:
        try:
            run_job(engine, pricer, job_id, scope, audit=audit, clock_us=clock_us)
        except Exception:  # recorded on the job row and logged; nobody is waiting to catch it
            return

    threading.Thread(target=work, name=f"llmledger-reprice-{job_id[:8]}", daemon=True).start()
    return job_id
