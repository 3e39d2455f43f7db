"""How a live room looks on the wire: room.state, room.starting and the media map."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from care_sessions.room_sessions import LiveSession
from protocol.messages import RoomMediaMap, RoomParticipant, RoomStarting, RoomState, RoomTrack


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def state_message(live: LiveSession) -> RoomState:
    """The whole table as everyone seated sees it (small: at most 17 participants)."""
    room = live.room
    return RoomState(
        room_id=room.id,
        session_id=live.id,
        name=room.name,
        kind=room.kind.value,
        host_id=room.host_id,
        ends_at=iso(live.ends_at),
        locked=live.locked,
        participants=[
            RoomParticipant(
                subject_id=seat.subject_id,
                name=seat.name,
                role=seat.role.value,
                muted=seat.muted,
                away=live.is_away(seat.subject_id),
                quality=seat.quality.value,
            )
            for seat in live.seats.values()
        ],
        large_id=live.large(),
        spotlight_id=live.spotlight,
        side_call_id=live.side_call,
    )


def starting_message(live: LiveSession, auto_join_after_s: int | None) -> RoomStarting:
    room = live.room
    return RoomStarting(
        room_id=room.id,
        session_id=live.id,
        name=room.name,
        kind=room.kind.value,
        host_name=live.host_name,
        ends_at=iso(live.ends_at),
        auto_join_after_s=auto_join_after_s,
    )


@dataclass
class MediaMap:
    """Whose media arrives on which of one participant's transceivers, from media events."""

    tracks: dict[str, RoomTrack] = field(default_factory=dict)  # by mid

    def added(self, mid: str, kind: str, publisher_id: str) -> None:
        self.tracks[mid] = RoomTrack(mid=mid, kind=kind, publisher_id=publisher_id)

    def removed(self, mid: str) -> None:
        self.tracks.pop(mid, None)

    def set_paused(self, publisher_id: str, paused: bool) -> bool:
        changed = False
        for mid, track in list(self.tracks.items()):
            if track.publisher_id == publisher_id and track.kind == "video":
                if track.paused != paused:
                    changed = True
                self.tracks[mid] = RoomTrack(
                    mid=mid, kind=track.kind, publisher_id=publisher_id, paused=paused
                )
        return changed

    def message(self, live: LiveSession) -> RoomMediaMap:
        return RoomMediaMap(
            room_id=live.room.id,
            session_id=live.id,
            tracks=sorted(self.tracks.values(), key=lambda t: (len(t.mid), t.mid)),
        )
