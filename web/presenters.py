"""How clients, presence and session records look on staff pages and in the JSON API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from care_sessions.identity import Client
from care_sessions.presence import Presence
from care_sessions.records import EndReason, SessionRecord
from web.i18n import N_, Language, LocalMoment

# Message ids; session_row() gives them in the page's language.
END_REASON_TEXT: dict[str, str] = {
    EndReason.COMPLETED: N_("Completed"),
    EndReason.DECLINED: N_("Declined by the client"),
    EndReason.UNANSWERED: N_("Not answered"),
    EndReason.CANCELLED: N_("Cancelled by the caller"),
    EndReason.BUSY: N_("Client was busy"),
    EndReason.OFFLINE: N_("Tablet was offline"),
    EndReason.DROPPED: N_("Connection lost"),
    EndReason.MEDIA_FAILED: N_("Video could not connect"),
    EndReason.INTERRUPTED: N_("Interrupted by a server restart"),
    EndReason.REVOKED: N_("Tablet access was revoked"),
    EndReason.PREEMPTED: N_("Ended for a care call"),
    EndReason.QUIET_HOURS: N_("Held back: quiet hours"),
    EndReason.UNAVAILABLE: N_("Family calls not allowed"),
    EndReason.ORPHANED: N_("Lost with its server"),
}
KIND_TEXT = {
    "call": N_("Nurse call"),
    "help_call": N_("Help call"),
    "family_call": N_("Family call"),
}
IN_PROGRESS = N_("In progress")


def iso(moment: datetime | None) -> str | None:
    """UTC ISO-8601 with a Z, the one time format of the JSON API."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def short_time(moment: datetime | None) -> str:
    """A moment in Helsinki time, which a page writes in its own language (a LocalMoment)."""
    if moment is None:
        return ""
    return LocalMoment(moment)


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def roster_entry(client: Client, presence: Presence) -> dict[str, Any]:
    return {
        "id": client.id,
        "first_name": client.first_name,
        "last_name": client.last_name,
        "display_name": client.display_name,
        "status": str(presence.status),
        "last_seen": iso(presence.last_seen),
    }


def _participant_name(record: SessionRecord, kind: str, subject_id: str | None = None) -> str:
    for participant in record.participants:
        if participant.kind == kind and subject_id in (None, participant.subject_id):
            return participant.display_name
    return ""


def session_json(record: SessionRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "kind": str(record.kind),
        "client_id": record.client_id,
        "client_name": _participant_name(record, "client"),
        "started_by": record.started_by,
        "started_by_name": _participant_name(record, "staff", record.started_by)
        or _participant_name(record, "family", record.started_by),
        "ring_at": iso(record.ring_at),
        "answer_at": iso(record.answer_at),
        "media_at": iso(record.media_at),
        "end_at": iso(record.end_at),
        "duration_s": record.duration_s,
        "end_reason": str(record.end_reason) if record.end_reason is not None else None,
    }


def session_row(record: SessionRecord, language: Language) -> dict[str, Any]:
    """One line of the sessions table: the JSON fields plus their texts in the page's language."""
    row = session_json(record)
    fmt = language.format
    reason = (
        END_REASON_TEXT.get(record.end_reason, str(record.end_reason))
        if record.end_reason is not None
        else IN_PROGRESS
    )
    row.update(
        kind_text=language.gettext(KIND_TEXT.get(row["kind"], KIND_TEXT["call"])),
        ring_text=fmt.moment(record.ring_at),
        # Answer and end fall on the ring's day (a call lasts minutes): their clock suffices.
        answer_text=fmt.clock(record.answer_at),
        end_text=fmt.clock(record.end_at),
        duration_text=fmt.duration(record.duration_s),
        end_reason_text=language.gettext(reason),
    )
    return row
