"""Help calls: a client pressed "Call nurse" and waits in the nurses' queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class HelpRequest:
    id: str
    client_id: str
    created_at: datetime
    taken_by: str | None = None
    taken_at: datetime | None = None
    session_id: str | None = None
    cancelled_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.taken_by is None and self.cancelled_at is None
