"""Call recordings: listed with their session, downloaded decrypted, every download logged."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from care_sessions.access_log import AccessAction, DataKind, Purpose
from care_sessions.errors import NotFound
from care_sessions.media_records import RecordingEntry
from web import state
from web.presenters import short_time


def recording_row(entry: RecordingEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "session_id": entry.session_id,
        "started_text": short_time(entry.started_at),
        "duration_s": round(entry.duration_s),
        "size_kb": entry.size_bytes // 1024,
        "expires_text": short_time(entry.expires_at),
        "deleted": entry.deleted_at is not None,
        "url": f"/recordings/{entry.id}",
    }


async def recordings_by_session(
    request: web.Request, session_ids: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """Rows for the sessions page: the recordings of these sessions, by session id."""
    insight = state.services(request).insight
    if insight is None or not session_ids:
        return {}
    found: dict[str, list[dict[str, Any]]] = {}
    for entry in await insight.recordings(session_ids):
        found.setdefault(entry.session_id, []).append(recording_row(entry))
    return found


async def quality_by_session(request: web.Request, session_ids: list[str]) -> dict[str, str]:
    """ "client good, staff fair" per session, for the sessions page."""
    insight = state.services(request).insight
    if insight is None or not session_ids:
        return {}
    found: dict[str, list[str]] = {}
    for summary in sorted(await insight.quality_of(session_ids), key=lambda s: s.participant):
        who = "client" if summary.participant == "client" else "nurse"
        found.setdefault(summary.session_id, []).append(f"{who} {summary.level}")
    return {session_id: ", ".join(parts) for session_id, parts in found.items()}


async def download(request: web.Request) -> web.StreamResponse:
    services = state.services(request)
    insight = services.insight
    if insight is None:
        raise NotFound("recordings are not enabled here")
    entry = await insight.recording(request.match_info["recording_id"])
    if entry is None:
        raise NotFound("no such recording")
    # Logged before the bytes leave: a download that fails half-way was still an access.
    await services.access_log.record(
        state.principal(request),
        entry.client_id,
        AccessAction.READ,
        DataKind.RECORDING,
        Purpose.CARE,
        f"downloaded recording {entry.id}",
    )
    body = await insight.recording_bytes(entry)
    return web.Response(
        body=body,
        headers={
            "Content-Type": "video/webm",
            "Content-Disposition": f'attachment; filename="hoiva-recording-{entry.id}.webm"',
            "Cache-Control": "no-store",
        },
    )


def add_routes(router: web.UrlDispatcher, id_pattern: str) -> None:
    router.add_get(
        "/recordings/" + id_pattern % "recording_id", download, name="recordings.download"
    )
