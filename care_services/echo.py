"""Echo tests: a participant's media goes to the media server and straight back.

One echo test proves the whole media path of a device (ICE, DTLS, SRTP, the server's
forwarding, both directions) without calling anyone: the tablet's self-test runs one, and so
does the synthetic probe (`hoiva probe`) every few minutes. Each socket runs at most one at a
time; each ends by itself after `probe.echo_max_s`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Literal

from care_services.calls import InvalidSdpError
from care_services.media_events import MediaEvent
from care_services.media_ports import MediaGateway
from care_services.ports import Notifier
from care_services.settings import EchoSettings
from care_sessions.errors import Busy, NotFound
from care_sessions.identity import Principal
from protocol.messages import EchoStopped

log = logging.getLogger(__name__)
EndReason = Literal["stopped", "timeout", "failed"]


class _EchoSignal:
    """An echo room never renegotiates; it only says when its media connects or fails."""

    def __init__(self, service: EchoService, echo_id: str) -> None:
        self._service = service
        self._echo_id = echo_id

    async def send_offer(self, participant_id: str, sdp: str) -> None:
        log.warning("echo test %s asked to renegotiate; ignored", self._echo_id)

    async def media_event(self, participant_id: str, event: MediaEvent) -> None:
        # Only a failure ends an echo test early; its other events need no action.
        if event["event"] == "failed":
            await self._service.end(self._echo_id, "failed")


@dataclass
class _Echo:
    echo_id: str
    subject_id: str
    timer: asyncio.TimerHandle | None = None


class EchoService:
    def __init__(self, *, media: MediaGateway, hub: Notifier, settings: EchoSettings) -> None:
        self._media = media
        self._hub = hub
        self._settings = settings
        self._echoes: dict[str, _Echo] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> int:
        return len(self._echoes)

    async def start(self, who: Principal, offer_sdp: str) -> tuple[str, str, float]:
        """Answer the offer of a new echo test; returns (echo id, answer sdp, its limit)."""
        for echo in [e for e in self._echoes.values() if e.subject_id == who.subject_id]:
            await self.end(echo.echo_id, "stopped")
        if len(self._echoes) >= self._settings.max_echo_tests:
            raise Busy("too many echo tests are running; try again in a minute")
        echo = _Echo(str(uuid.uuid4()), who.subject_id)
        self._echoes[echo.echo_id] = echo
        room = self._media.open_room(echo.echo_id, _EchoSignal(self, echo.echo_id), echo=True)
        try:
            answer = await room.connect(who.subject_id, offer_sdp)
        except self._media.error_type as exc:
            self._echoes.pop(echo.echo_id, None)
            await self._media.close_room(echo.echo_id)
            raise InvalidSdpError(str(exc)) from exc
        limit = self._settings.echo_max_s
        echo.timer = asyncio.get_running_loop().call_later(
            limit, lambda: self._spawn(self.end(echo.echo_id, "timeout"))
        )
        return echo.echo_id, answer, limit

    async def stop(self, who: Principal, echo_id: str) -> None:
        echo = self._echoes.get(echo_id)
        # Someone else's echo looks the same as none at all.
        if echo is None or echo.subject_id != who.subject_id:
            raise NotFound(f"no echo test {echo_id}")
        await self.end(echo_id, "stopped")

    async def subject_gone(self, subject_id: str) -> None:
        for echo in [e for e in self._echoes.values() if e.subject_id == subject_id]:
            await self.end(echo.echo_id, "stopped", tell=False)

    async def end(self, echo_id: str, reason: EndReason, *, tell: bool = True) -> None:
        echo = self._echoes.pop(echo_id, None)
        if echo is None:
            return
        if echo.timer is not None:
            echo.timer.cancel()
        await self._media.close_room(echo_id)
        if tell:
            await self._hub.send_to(echo.subject_id, EchoStopped(echo_id=echo_id, reason=reason))

    async def close(self) -> None:
        for echo_id in list(self._echoes):
            await self.end(echo_id, "stopped", tell=False)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
