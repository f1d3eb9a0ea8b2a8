"""CSV export never hands a spreadsheet a formula: a cell is neutralised when it starts with a
formula character once leading whitespace and invisible characters are skipped, and in
full-width form. Cells come both from today's ingest (which strips attributions) and from rows
stored as sent by older versions, read through the real /export on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from llmledger.store.write import Prepared

#: what reached the store; the agent column (index 4 of a row) is set to each as-is
STORED = [
    " =1+1",
    "\u00a0=1+1",
    "\u200b=1+1",
    "\n=1+1",
    "\uff1d1+1",
    "\uff0b1+1",
    "\uff0d1+1",
    "\uff20SUM(A1)",
    "\ufeff\u2060=1+1",
    "\t\u200d@x",
]
#: sent over HTTP today: only the characters that stripping leaves in place
SENT = ["\u200b=2+2", "\uff1d2+2", "\u2060+2"]
HARMLESS = [" padded", "\u00a0plain", "gpt-4o", "ünïcödé", "1-2"]


def _event(agent: str) -> UsageEvent:
    return UsageEvent(
        event_id=uuid.uuid4(),
        timestamp=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2),
        provider="openai",
        model="gpt-4o",
        org_id="acme",
        agent=agent,
        input_tokens=10,
    )


def _store_as_sent(ledger: Ledger, agents: list[str]) -> None:
    prepared = ledger.writer.prepare([_event("placeholder") for _ in agents])
    rows = [(*r[:4], agent, *r[5:]) for r, agent in zip(prepared.rows, agents, strict=True)]
    batch = Prepared.of_rows(rows, prepared.open_from)
    assert ledger.writer.submit(batch).result(timeout=60).accepted == len(rows)


def test_export_neutralises_formulas_behind_invisible_and_full_width_characters(
    client, admin, ledger
):
    _store_as_sent(ledger, [*STORED, *HARMLESS])
    events = [{**_event(a).to_json_dict(), "eventId": str(uuid.uuid4()), "agent": a} for a in SENT]
    r = client.post("/api/v1/events", json={"events": events}, headers=admin)
    assert r.json()["accepted"] == len(SENT), r.text
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    r = client.get("/api/v1/admin/llm-costs/export", params={"startDate": start}, headers=admin)
    assert r.status_code == 200, r.text
    agents = [line["agent"] for line in csv.DictReader(io.StringIO(r.text))]
    assert sorted(agents) == sorted(["'" + a for a in [*STORED, *SENT]] + HARMLESS)
