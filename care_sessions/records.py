"""Session records: what every call leaves behind for reporting."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class SessionKind(enum.StrEnum):
    CALL = "call"
    HELP_CALL = "help_call"
    FAMILY_CALL = "family_call"  # a relative calling; not a care visit, never in visit reports


class EndReason(enum.StrEnum):
    COMPLETED = "completed"  # answered, then ended by a participant
    DECLINED = "declined"  # the client pressed Decline
    UNANSWERED = "unanswered"  # rang until the ring timeout
    CANCELLED = "cancelled"  # the caller hung up while it rang
    BUSY = "busy"  # the client was already ringing or in a call
    OFFLINE = "offline"  # the client's tablet was not connected
    DROPPED = "dropped"  # a participant's connection was lost and did not come back
    MEDIA_FAILED = "media_failed"  # signaling worked, media never connected
    INTERRUPTED = "interrupted"  # the server stopped while the call was open
    REVOKED = "revoked"  # the tablet's token (or a relative's link) was revoked mid-call
    PREEMPTED = "preempted"  # a family call ended because a care call came in
    QUIET_HOURS = "quiet_hours"  # a family call held back by the client's quiet hours
    UNAVAILABLE = "unavailable"  # a family call refused: no consent, or the link was revoked
    ORPHANED = "orphaned"  # no server held the call any more; closed by the open-call sweep


@dataclass(frozen=True)
class SessionParticipant:
    kind: str  # "staff" | "client"
    subject_id: str
    display_name: str


@dataclass
class SessionRecord:
    """One call or room visit; written when it starts and completed when it ends."""

    id: str
    kind: SessionKind
    client_id: str
    started_by: str
    ring_at: datetime
    participants: list[SessionParticipant] = field(default_factory=list)
    answer_at: datetime | None = None
    media_at: datetime | None = None  # both ends' media connected
    end_at: datetime | None = None
    ended_by: str | None = None
    end_reason: EndReason | None = None
    # Times the call's media server was lost and the call carried on from another one.
    interruptions: int = 0

    @property
    def duration_s(self) -> float | None:
        if self.answer_at is None or self.end_at is None:
            return None
        return (self.end_at - self.answer_at).total_seconds()
