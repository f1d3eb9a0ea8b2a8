"""A server process as ``llmledger serve`` runs it (``create_app`` under uvicorn, the alert
round in its lifespan), with its clock read from a file so a test can move time, and its
settings from the environment.

    python -m tests.alerts.server CLOCK_FILE PORT
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from llmledger.server.app import create_app
from llmledger.server.serving import serve
from llmledger.settings import Settings


def main() -> None:
    clock_file, port = Path(sys.argv[1]), int(sys.argv[2])

    def clock() -> dt.datetime:
        return dt.datetime.fromisoformat(clock_file.read_text().strip())

    settings = Settings()
    serve(create_app(settings, clock=clock), settings, host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
