"""An alert process for the race tests: opens the database, says it is ready, waits for the
go file, then runs ``alert_round`` (evaluate, fire, deliver), only ``check`` (evaluate and
fire) or only ``deliver_due`` at one injected instant, a number of times, and prints what it
did as JSON. The settings (SMTP
server, private webhooks) come from the environment, as a server's do.

    python -m tests.alerts.worker round|check|deliver DATABASE_URL DATA_DIR GO_FILE NOW_ISO TIMES
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

from llmledger.alerts.check import check
from llmledger.alerts.loop import alert_round
from llmledger.alerts.sender import deliver_due
from llmledger.settings import Settings
from llmledger.store.engine import make_engine
from llmledger.store.rows import to_us


def main() -> None:
    mode, url, data_dir, go, now_text, times = sys.argv[1:]
    settings = Settings(database_url=url, data_dir=Path(data_dir))
    engine = make_engine(settings)
    now = dt.datetime.fromisoformat(now_text)
    with engine.connect():
        pass  # connected before the start, so both start at once
    print("ready", flush=True)
    deadline = time.monotonic() + 60
    while not Path(go).exists():
        if time.monotonic() > deadline:
            sys.exit("no go file within 60 s")
        time.sleep(0.001)
    fired: list[int] = []
    sent = 0
    for _ in range(int(times)):
        if mode == "round":
            report = alert_round(engine, settings, now=now)
            fired += report.fired
            sent += report.sent
        elif mode == "check":
            fired += check(engine, now=now).fired
        else:
            sent += deliver_due(engine, settings, now_us=to_us(now), limit=1000)
    print(json.dumps({"fired": fired, "sent": sent}), flush=True)
    engine.dispose()


if __name__ == "__main__":
    main()
