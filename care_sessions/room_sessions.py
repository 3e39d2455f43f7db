"""A room while it meets: who sits at the table, and what the host has decided about them.

Pure state and rules (no sockets, no media): care_services.rooms applies the result to the media
room and tells the participants.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from care_sessions.errors import Busy, Forbidden, InvalidState, NotFound
from care_sessions.meal_rooms import (
    UNSCHEDULED_LENGTH,
    LeaveReason,
    MealRoom,
    Occurrence,
    RoomKind,
    RoomSessionRecord,
    SessionEndReason,
    Visit,
)

MAIN_GROUP = "main"
SIDE_GROUP = "side"


class SeatRole(enum.StrEnum):
    HOST = "host"  # the room's host, or an admin standing in
    CLIENT = "client"


class Quality(enum.StrEnum):
    """The host console's dot: how well this participant's media reaches the server."""

    CONNECTING = "connecting"
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"
    LOST = "lost"


@dataclass
class Seat:
    subject_id: str
    name: str
    role: SeatRole
    visit: Visit
    muted: bool = False
    quality: Quality = Quality.CONNECTING


@dataclass
class LiveSession:
    """One meeting of a room, from opening to end."""

    room: MealRoom
    record: RoomSessionRecord
    host_name: str
    ends_at: datetime
    seats: dict[str, Seat] = field(default_factory=dict)
    locked: bool = False
    spotlight: str | None = None
    side_call: str | None = None
    # Who may not come back this session, and who chose to leave (no auto-join for them).
    removed: set[str] = field(default_factory=set)
    left_by_choice: set[str] = field(default_factory=set)
    # Everyone who has sat down this session: a locked room still lets them back in.
    attended: set[str] = field(default_factory=set)
    ended: bool = False

    @classmethod
    def open(
        cls,
        *,
        session_id: str,
        room: MealRoom,
        host_name: str,
        at: datetime,
        opened_by: str | None,
        occurrence: Occurrence | None,
    ) -> LiveSession:
        record = RoomSessionRecord(
            id=session_id,
            room_id=room.id,
            opened_at=at,
            opened_by=opened_by,
            scheduled_start=occurrence.starts_at if occurrence else None,
        )
        # Opened early for a meeting that is coming: it lasts until that meeting ends.
        ends_at = occurrence.ends_at if occurrence else at + UNSCHEDULED_LENGTH
        return cls(room=room, record=record, host_name=host_name, ends_at=ends_at)

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def leader_id(self) -> str | None:
        """Exercise rooms: whoever holds the host seat leads; meals have no leader."""
        if self.room.kind is not RoomKind.EXERCISE:
            return None
        return next((s.subject_id for s in self.seats.values() if s.role is SeatRole.HOST), None)

    @property
    def clients_seated(self) -> int:
        return sum(1 for seat in self.seats.values() if seat.role is SeatRole.CLIENT)

    def large(self) -> str | None:
        """Whose video every tablet shows large: the spotlight, else the exercise leader."""
        if self.spotlight is not None and self.spotlight in self.seats:
            return self.spotlight
        return self.leader_id

    def featured(self) -> set[str]:
        """Who publishes at full rate: the host seat(s) and whoever is shown large."""
        featured = {s.subject_id for s in self.seats.values() if s.role is SeatRole.HOST}
        large = self.large()
        if large is not None:
            featured.add(large)
        return featured

    def groups(self) -> dict[str, str]:
        """Media partition: a side call takes the host and one home out of the main table."""
        groups = {subject: MAIN_GROUP for subject in self.seats}
        if self.side_call is not None and self.side_call in self.seats:
            groups[self.side_call] = SIDE_GROUP
            for seat in self.seats.values():
                if seat.role is SeatRole.HOST:
                    groups[seat.subject_id] = SIDE_GROUP
        return groups

    def is_away(self, subject_id: str) -> bool:
        return self.groups().get(subject_id) == SIDE_GROUP

    # ---- joining and leaving -------------------------------------------------------------

    def check_can_join(self, subject_id: str, role: SeatRole) -> None:
        if self.ended:
            raise InvalidState("this meeting has ended")
        if subject_id in self.seats:
            return
        if role is SeatRole.HOST:
            return  # staff running the room are never locked out of it
        if subject_id in self.removed:
            raise Forbidden("the host has removed you from this meeting")
        if self.locked and subject_id not in self.attended:
            raise InvalidState("the host has locked the room")
        if self.clients_seated >= self.room.capacity:
            raise Busy("the room is full")

    def sit(self, subject_id: str, name: str, role: SeatRole, at: datetime) -> tuple[Seat, bool]:
        """Seat someone; (seat, True) when new, (existing seat, False) when already seated."""
        existing = self.seats.get(subject_id)
        if existing is not None:
            return existing, False
        self.check_can_join(subject_id, role)
        visit = Visit(self.id, subject_id, role.value, joined_at=at)
        seat = Seat(subject_id, name, role, visit)
        self.seats[subject_id] = seat
        self.attended.add(subject_id)
        self.left_by_choice.discard(subject_id)
        return seat, True

    def stand(self, subject_id: str, at: datetime, reason: LeaveReason) -> Visit:
        """Someone leaves; returns their closed visit."""
        seat = self.seats.pop(subject_id, None)
        if seat is None:
            raise NotFound("not in this room")
        if reason is LeaveReason.LEFT:
            self.left_by_choice.add(subject_id)
        if reason is LeaveReason.REMOVED:
            self.removed.add(subject_id)
        if self.spotlight == subject_id:
            self.spotlight = None
        if self.side_call == subject_id or (
            seat.role is SeatRole.HOST and not self._other_host_seated(subject_id)
        ):
            self.side_call = None
        return Visit(
            seat.visit.session_id,
            subject_id,
            seat.visit.role,
            seat.visit.joined_at,
            left_at=at,
            left_reason=reason,
        )

    def _other_host_seated(self, subject_id: str) -> bool:
        return any(
            s.role is SeatRole.HOST and s.subject_id != subject_id for s in self.seats.values()
        )

    # ---- the host's controls -------------------------------------------------------------

    def seat_of(self, subject_id: str) -> Seat:
        seat = self.seats.get(subject_id)
        if seat is None:
            raise NotFound("that person is not in the room")
        return seat

    def set_muted(self, subject_id: str, muted: bool) -> bool:
        """Mute or unmute one participant; True if it changed anything."""
        seat = self.seat_of(subject_id)
        if seat.role is SeatRole.HOST:
            raise InvalidState("the host mutes their own microphone on their console")
        changed = seat.muted != muted
        seat.muted = muted
        return changed

    def set_all_muted(self, muted: bool) -> list[str]:
        """Mute or unmute every client; returns whose state changed."""
        changed = []
        for seat in self.seats.values():
            if seat.role is SeatRole.CLIENT and seat.muted != muted:
                seat.muted = muted
                changed.append(seat.subject_id)
        return changed

    def set_spotlight(self, subject_id: str | None) -> None:
        if subject_id is not None:
            self.seat_of(subject_id)
        self.spotlight = subject_id

    def start_side_call(self, subject_id: str) -> None:
        seat = self.seat_of(subject_id)
        if seat.role is not SeatRole.CLIENT:
            raise InvalidState("a side call is with one client")
        self.side_call = subject_id

    def end_side_call(self) -> None:
        self.side_call = None

    def past_end(self, now: datetime) -> bool:
        return now >= self.ends_at

    def end(self, at: datetime, by: str | None, reason: SessionEndReason) -> list[Visit]:
        """Close the meeting; returns the visits it closed."""
        if self.ended:
            return []
        closed = [self.stand(subject, at, LeaveReason.ENDED) for subject in list(self.seats)]
        self.ended = True
        self.record = RoomSessionRecord(
            id=self.record.id,
            room_id=self.record.room_id,
            opened_at=self.record.opened_at,
            opened_by=self.record.opened_by,
            scheduled_start=self.record.scheduled_start,
            ended_at=at,
            ended_by=by,
            end_reason=reason,
        )
        return closed


# The quality dot's thresholds: a few percent of loss upstream is visible as smearing after
# VP8 concealment; beyond ~8 % the picture freezes between keyframes.
FAIR_LOSS = 0.02
POOR_LOSS = 0.08
# Below this a camera that should be sending is effectively frozen (a thumbnail at 12 fps
# needs well over 50 kbps).
POOR_VIDEO_BPS = 20_000.0


def rate_quality(*, connected: bool, was_connected: bool, loss: float, video_bps: float) -> Quality:
    """The host console's dot for one participant, from what the media server measures."""
    if not connected:
        return Quality.LOST if was_connected else Quality.CONNECTING
    if loss >= POOR_LOSS or video_bps < POOR_VIDEO_BPS:
        return Quality.POOR
    if loss >= FAIR_LOSS:
        return Quality.FAIR
    return Quality.GOOD
