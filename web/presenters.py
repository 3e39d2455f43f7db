"""How clients, presence and session records look on staff pages and in the JSON API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from care_sessions.identity import Client
from care_sessions.presence import Presence
from care_sessions.records import EndReason, SessionRecord

END_REASON_TEXT: dict[str, str] = {
    EndReason.COMPLETED: "Completed",
    EndReason.DECLINED: "Declined by the client",
    EndReason.UNANSWERED: "Not answered",
    EndReason.CANCELLED: "Cancelled by the caller",
    EndReason.BUSY: "Client was busy",
    EndReason.OFFLINE: "Tablet was offline",
    EndReason.DROPPED: "Connection lost",
    EndReason.MEDIA_FAILED: "Video could not connect",
    EndReason.INTERRUPTED: "Interrupted by a server restart",
    EndReason.REVOKED: "Tablet access was revoked",
    EndReason.PREEMPTED: "Ended for a care call",
    EndReason.QUIET_HOURS: "Held back: quiet hours",
    EndReason.UNAVAILABLE: "Family calls not allowed",
}
KIND_TEXT = {"call": "Call", "help_call": "Help call", "family_call": "Family call"}


def iso(moment: datetime | None) -> str | None:
    """UTC ISO-8601 with a Z, the one time format of the JSON API."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def short_time(moment: datetime | None) -> str:
    """What a page shows before its script turns it into the viewer's local time."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


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


def session_row(record: SessionRecord) -> dict[str, Any]:
    """One line of the sessions table: the JSON fields plus their readable texts."""
    row = session_json(record)
    row.update(
        kind_text=KIND_TEXT.get(row["kind"], "Call"),
        ring_text=short_time(record.ring_at),
        answer_text=short_time(record.answer_at),
        end_text=short_time(record.end_at),
        duration_text=duration_text(record.duration_s),
        end_reason_text=(
            END_REASON_TEXT.get(record.end_reason, str(record.end_reason))
            if record.end_reason is not None
            else "In progress"
        ),
    )
    return row
