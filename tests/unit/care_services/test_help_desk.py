"""The help desk talks to people only through the Notifier port (care_services/ports.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from care_services.calls import CallService
from care_services.help_desk import STAFF_WHO_TAKE_HELP, HelpDesk
from care_sessions.help_requests import HelpRequest
from care_sessions.identity import Principal, Role
from care_sessions.ports import CareStore
from protocol.messages import HelpClosed, HelpQueue, HelpQueued, ServerMessage
from tests.fake_clock import FakeClock


class RecordingSink:
    """A Notifier that keeps what the service said, to whom."""

    def __init__(self) -> None:
        self.to_subjects: list[tuple[str, ServerMessage]] = []
        self.to_staff: list[tuple[ServerMessage, tuple[Role, ...]]] = []

    async def send_to(self, subject_id: str, message: ServerMessage) -> bool:
        self.to_subjects.append((subject_id, message))
        return True

    async def broadcast_staff(self, message: ServerMessage, roles: Sequence[Role] = ()) -> None:
        self.to_staff.append((message, tuple(roles)))


class _HelpRequests:
    """The part of the care store the help desk uses, in memory."""

    def __init__(self) -> None:
        self.requests: dict[str, HelpRequest] = {}

    async def open_help_requests(self) -> list[HelpRequest]:
        return [r for r in self.requests.values() if r.open]

    async def add_help_request(self, request: HelpRequest) -> None:
        self.requests[request.id] = request

    async def cancel_help_request(self, help_id: str, at: datetime) -> None:
        self.requests[help_id] = dataclasses.replace(self.requests[help_id], cancelled_at=at)

    async def list_clients(self) -> list[Any]:
        return []


def _desk() -> tuple[HelpDesk, RecordingSink, _HelpRequests]:
    sink, store = RecordingSink(), _HelpRequests()
    clock = FakeClock(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    desk = HelpDesk(cast(CareStore, store), clock, cast(Any, sink), cast(CallService, None))
    return desk, sink, store


TABLET = Principal(Role.TABLET, "aino", "Aino")


async def test_pressing_twice_keeps_one_place_in_the_queue() -> None:
    """A second press answers with the same help id and does not tell the staff again."""
    desk, sink, store = _desk()
    first = await desk.request(TABLET, ref="1")
    second = await desk.request(TABLET, ref="2")
    assert first.id == second.id and len(store.requests) == 1
    assert sink.to_subjects == [
        ("aino", HelpQueued(ref="1", help_id=first.id)),
        ("aino", HelpQueued(ref="2", help_id=first.id)),
    ]
    assert [type(m) for m, _ in sink.to_staff] == [HelpQueue]
    assert sink.to_staff[0][1] == STAFF_WHO_TAKE_HELP


async def test_cancelling_tells_the_staff_who_take_help() -> None:
    """The nurses' queues drop the request; nobody else is told."""
    desk, sink, store = _desk()
    request = await desk.request(TABLET)
    await desk.cancel(TABLET)
    assert sink.to_staff[-1] == (HelpClosed(help_id=request.id), STAFF_WHO_TAKE_HELP)
    assert await store.open_help_requests() == []
