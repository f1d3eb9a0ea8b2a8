"""An evaluator process for the race tests: opens the database, says it is ready, waits for
the go file, then runs alert rounds at one injected instant and prints the firings it wrote.

    python -m tests.alerts.evaluator DATABASE_URL DATA_DIR GO_FILE NOW_ISO ROUNDS
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

from llmledger.alerts.check import check
from llmledger.settings import Settings
from llmledger.store.engine import make_engine


def main() -> None:
    url, data_dir, go, now_text, rounds = sys.argv[1:]
    engine = make_engine(Settings(database_url=url, data_dir=Path(data_dir)))
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
    for _ in range(int(rounds)):
        fired += check(engine, now=now).fired
    print(json.dumps(fired), flush=True)
    engine.dispose()


if __name__ == "__main__":
    main()
