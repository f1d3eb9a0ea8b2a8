"""Direct mode: write events straight into a database through ``Ledger``, no server.

Imported lazily (pydantic and SQLAlchemy load only when direct mode is configured); the ledger
is opened on the exporter's thread at the first batch.
"""

from __future__ import annotations

from typing import Any

from llmledger.capture.transport import Outcome, decode


class DirectSender:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._ledger: Any = None

    def _open(self) -> Any:
        if self._ledger is None:
            from llmledger.ledger import Ledger
            from llmledger.settings import Settings

            self._ledger = Ledger.open(Settings(database_url=self.database_url))
        return self._ledger

    def send(self, body: bytes) -> Outcome:
        from pydantic import ValidationError

        from llmledger.events import UsageEvent, describe_errors

        good, rejected = [], []
        for index, raw in enumerate(decode(body)):
            try:
                good.append(UsageEvent.model_validate(raw))
            except ValidationError as exc:
                rejected.append({"index": index, "errors": describe_errors(exc)})
        try:
            result = self._open().write(good)
        except Exception as exc:  # database away or locked: keep the batch for later
            return Outcome(False, retry=True, reason=f"{type(exc).__name__}: {exc}")
        answer = {"accepted": result.accepted, "duplicates": result.duplicates}
        return Outcome(True, answer={**answer, "rejected": rejected})

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None
