"""The headless tablet: what the kiosk page does, in Python, for Linux kiosk boards and tests."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp

from client_kit.link import ServerLink
from client_kit.negotiation import PeerSession
from client_kit.signaling import SignalingClient, SignalingClosed
from media.client_peer import ClientPeer, VideoSource
from media.synthetic import SyntheticVideoTrack
from protocol.messages import (
    CallAccepted,
    CallAnswer,
    CallDecline,
    CallEnd,
    CallEnded,
    CallIncoming,
    CheckinConfirm,
    CheckinPending,
    CheckinRecorded,
    CheckinReminders,
    ClientSettingsOut,
    HelpQueued,
    HelpRequestMsg,
    Ping,
    Pong,
    SelftestCheck,
    SelftestResult,
    SelftestRun,
    ServerMessage,
    SettingsUpdate,
    TabletHeartbeat,
    TabletReload,
)
from tablet_client.echo_test import EchoRunner
from tablet_client.meal_client import RoomSeat
from tablet_client.selftest import run_selftest

log = logging.getLogger(__name__)
APP_VERSION = "hoiva-tablet/0.1"
PING_TIMEOUT_S = 5.0


@dataclass
class DeviceState:
    """What the tablet tells the fleet in its heartbeats; a test may change it and call
    send_heartbeat(), as a kiosk does when its screen goes off or its battery drains."""

    connection_type: Literal["wifi", "cellular", "ethernet", "unknown"] = "ethernet"
    screen: Literal["on", "off", "unknown"] = "on"
    battery_pct: int | None = None
    charging: bool | None = None


@dataclass
class FleetLog:
    """What the fleet asked of this tablet, for tests and the probe."""

    # (monotonic arrival time, settings) for the welcome's settings and every update.
    settings: list[tuple[float, ClientSettingsOut]] = field(default_factory=list)
    reloads: int = 0
    heartbeats_sent: int = 0
    # run_id -> (trigger, the checks answered)
    selftests: dict[str, tuple[str, list[SelftestCheck]]] = field(default_factory=dict)


@dataclass
class CallLog:
    """What the tablet went through, for tests, benchmarks and the probe."""

    incoming: list[str] = field(default_factory=list)
    ended: dict[str, str] = field(default_factory=dict)
    help_ids: list[str] = field(default_factory=list)
    # Every checkin.reminders received: (checkin ids, ring); and what the server recorded.
    reminders: list[tuple[tuple[str, ...], bool]] = field(default_factory=list)
    recorded: dict[str, str] = field(default_factory=dict)

    @property
    def rings(self) -> int:
        return sum(1 for _, ring in self.reminders if ring)


class HeadlessTablet:
    """Registers with a device token, rings, answers (or auto-answers), sends and counts frames."""

    def __init__(
        self,
        server_url: str | Sequence[str],
        token: str,
        *,
        video_factory: Callable[[], VideoSource] | None = None,
        source_id: int = 1,
        answer_after_s: float | None = None,
        decline: bool = False,
        http: aiohttp.ClientSession | None = None,
        reminders: Literal["confirm", "ignore"] = "ignore",
        glucose_mmol_l: float = 6.0,
        join_rooms: bool | None = None,
        room_audio: bool = True,
        camera: bool = True,
        app_version: str = APP_VERSION,
    ) -> None:
        # Several URLs: the instances of one deployment; a lost socket reconnects to the next.
        self.link = ServerLink(server_url, agent="hoiva-tablet/0.1", http=http)
        self._token = token
        self._source_id = source_id
        self._video_factory: Callable[[], VideoSource] = video_factory or (
            lambda: SyntheticVideoTrack(source_id=source_id)
        )
        # camera=False: a tablet without a camera (its self-test says so; calls carry audio).
        self._camera = camera
        self._app_version = app_version
        self.device = DeviceState()
        self.fleet = FleetLog()
        self.settings: ClientSettingsOut | None = None
        self.settings_changed = asyncio.Event()
        self.reload_requested = asyncio.Event()
        self.selftest_answered = asyncio.Event()
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._pings: dict[str, tuple[float, asyncio.Future[float]]] = {}
        self._ping_refs = itertools.count(1)
        # None: follow the client's settings as each ring states them (ring, or countdown).
        self._answer_after_s = answer_after_s
        self._decline = decline
        # "confirm": press the big button on every reminder, as a diligent client would;
        # "ignore": let them ring, as a client who is out or asleep would.
        self._reminder_mode = reminders
        self._glucose = glucose_mmol_l
        self._confirming: set[str] = set()
        self.reminder_changed = asyncio.Event()
        self.media = PeerSession(self.link.send, self._new_peer)
        self.log = CallLog()
        self.connected = asyncio.Event()
        self.in_call = asyncio.Event()
        self.call_over = asyncio.Event()
        self.revoked = asyncio.Event()
        self._pending: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        # The self-test's echo test runs over this tablet's own socket.
        self._echo = EchoRunner(self.link)
        # Meal and exercise rooms (tablet_client/meal_client.py); join_rooms None follows
        # the client's setting as room.starting states it.
        self.meal = RoomSeat(
            self.link,
            video_factory=self._video_factory,
            auto_join=join_rooms,
            audio=room_audio,
        )

    @property
    def signal(self) -> SignalingClient | None:
        return self.link.signal

    @property
    def peer(self) -> ClientPeer | None:
        return self.media.peer

    @property
    def last_peer(self) -> ClientPeer | None:
        return self.media.last_peer

    @property
    def call_id(self) -> str | None:
        return self.media.call_id

    @property
    def media_restarts(self) -> int:
        return self.media.restarts

    # ---- lifecycle -----------------------------------------------------------------------

    @staticmethod
    async def pair(server_url: str, code: str, label: str = "headless tablet") -> str:
        """Redeem a one-time pairing code for a device token (kept by the caller)."""
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{server_url.rstrip('/')}/api/tablet/pair", json={"code": code, "label": label}
            ) as response,
        ):
            body = await response.json()
            if response.status != 200:
                raise PermissionError(body.get("message", "pairing failed"))
            return str(body["token"])

    async def start(self) -> None:
        """Connect once (raising if no server answers), then keep reconnecting in the background."""
        await self.link.connect_any(self._connect)
        self._runner = asyncio.create_task(self._stay_connected())

    async def stop(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        await self._stop_heartbeats()
        await self._close_call()
        await self.meal.close()
        await self.link.close()
        for task in list(self._pending):
            task.cancel()

    async def _connect(self) -> None:
        welcome = await self.link.open(self._on_message, token=self._token)
        if welcome.settings is not None:
            self._settings_arrived(welcome.settings)
        self.connected.set()
        await self._start_heartbeats(welcome.tablet_heartbeat_s)
        # Reminders that fell due while this tablet was away are waiting on the server.
        await self.link.send(CheckinPending())
        # So may an open room (a latecomer, or back after a network blip).
        await self.meal.sync()

    async def _stay_connected(self) -> None:
        await self.link.stay_connected(self._connect, lost=self._lost)
        # A bad or revoked token: reconnecting cannot help.
        self.revoked.set()
        await self._close_call()

    async def _lost(self) -> None:
        self.connected.clear()
        await self._stop_heartbeats()

    # ---- actions -------------------------------------------------------------------------

    async def request_help(self) -> None:
        await self.link.send(HelpRequestMsg())

    async def answer(self, call_id: str) -> None:
        """Answer and connect media at once: the offer follows the answer in the same breath."""
        await self.media.start_offer()
        await self.link.send(CallAnswer(call_id=call_id))
        await self.media.send_offer(call_id)

    async def _confirm(self, checkin_id: str, outcome: str) -> None:
        if checkin_id in self._confirming:
            return
        self._confirming.add(checkin_id)
        confirm: CheckinConfirm
        if outcome == "measured":
            confirm = CheckinConfirm(
                checkin_id=checkin_id, outcome="measured", glucose_mmol_l=self._glucose
            )
        elif outcome == "done":
            confirm = CheckinConfirm(checkin_id=checkin_id, outcome="done")
        else:
            confirm = CheckinConfirm(checkin_id=checkin_id, outcome="taken")
        await self.link.send(confirm)

    async def hang_up(self) -> None:
        if self.call_id is not None:
            await self.link.send(CallEnd(call_id=self.call_id))

    # ---- incoming messages ---------------------------------------------------------------

    async def _on_message(self, message: ServerMessage) -> None:
        if (
            await self.meal.handle(message)
            or self._echo.handle(message)
            or await self.media.handle(message)
        ):
            return
        match message:
            case CallIncoming() if self.meal.seated:
                # At the table: a call rings out rather than pulling the camera away.
                self.log.incoming.append(message.call_id)
            case CallIncoming(call_id=call_id, auto_answer_after_s=auto_after):
                self.media.call_id = call_id
                self.call_over.clear()
                self.log.incoming.append(call_id)
                if self._decline:
                    await self.link.send(CallDecline(call_id=call_id))
                else:
                    # The ring carries the client's current setting; an explicit override wins.
                    delay = self._answer_after_s if self._answer_after_s is not None else auto_after
                    if delay is not None:
                        self._later(delay, self.answer(call_id))
            case CallAccepted():
                self.in_call.set()
            case CallEnded(call_id=call_id, reason=reason):
                self.log.ended[call_id] = reason
                if call_id == self.call_id:
                    await self._close_call()
            case HelpQueued(help_id=help_id):
                self.log.help_ids.append(help_id)
            case CheckinReminders(reminders=reminders, ring=ring):
                self.log.reminders.append((tuple(r.checkin_id for r in reminders), ring))
                self.reminder_changed.set()
                if self._reminder_mode == "confirm":
                    for reminder in reminders:
                        await self._confirm(reminder.checkin_id, reminder.confirm)
            case CheckinRecorded(checkin_id=checkin_id, status=status):
                self.log.recorded[checkin_id] = status
                self.reminder_changed.set()
            case Pong(ref=ref) if ref in self._pings:
                sent_at, answered = self._pings.pop(ref)
                if not answered.done():
                    answered.set_result((time.monotonic() - sent_at) * 1000)
            case SettingsUpdate(settings=settings):
                self._settings_arrived(settings)
            case TabletReload():
                # A kiosk loads its page again; a headless tablet has no page, so it notes it.
                self.fleet.reloads += 1
                self.reload_requested.set()
            case SelftestRun(run_id=run_id, trigger=trigger):
                self._later(0, self._selftest(run_id, trigger))
            case _:
                pass

    # ---- the fleet: heartbeats, settings, self-test ---------------------------------------

    def _video(self) -> VideoSource | None:
        return self._video_factory() if self._camera else None

    def _new_peer(self) -> ClientPeer:
        return ClientPeer(ice_servers=self.link.ice_servers, video=self._video())

    def _settings_arrived(self, settings: ClientSettingsOut) -> None:
        self.settings = settings
        self.fleet.settings.append((time.monotonic(), settings))
        self.settings_changed.set()

    async def _start_heartbeats(self, every_s: float | None) -> None:
        await self._stop_heartbeats()
        if every_s is None:
            return  # the server runs no fleet
        self._heartbeat_task = asyncio.create_task(self._beat(every_s))

    async def _stop_heartbeats(self) -> None:
        task, self._heartbeat_task = self._heartbeat_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _beat(self, every_s: float) -> None:
        while True:
            try:
                await self.send_heartbeat()
            except SignalingClosed:
                return
            await asyncio.sleep(every_s)

    async def round_trip_ms(self) -> float | None:
        """One application ping over the socket; None when no pong came in time."""
        ref = f"rtt-{next(self._ping_refs)}"
        answered: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._pings[ref] = (time.monotonic(), answered)
        try:
            await self.link.send(Ping(ref=ref))
            async with asyncio.timeout(PING_TIMEOUT_S):
                return await answered
        except (TimeoutError, SignalingClosed):
            return None
        finally:
            self._pings.pop(ref, None)

    async def send_heartbeat(self) -> None:
        """Tell the fleet how this tablet is (also at once when something changed)."""
        rtt = await self.round_trip_ms()
        state = self.device
        # No permission prompts here: a tablet without a camera can never grant one.
        permission: Literal["granted", "denied"] = "granted" if self._camera else "denied"
        await self.link.send(
            TabletHeartbeat(
                app_version=self._app_version,
                connection_type=state.connection_type,
                rtt_ms=rtt,
                camera=permission,
                microphone="granted",
                screen=state.screen,
                battery_pct=state.battery_pct,
                charging=state.charging,
            )
        )
        self.fleet.heartbeats_sent += 1

    async def _selftest(self, run_id: str, trigger: str) -> None:
        checks = await run_selftest(
            camera=self._video_factory if self._camera else None,
            camera_busy=self.peer is not None,
            ice_servers=self.link.ice_servers,
            round_trip_ms=self.round_trip_ms,
            echo=lambda: self._echo.run(frames=5, timeout_s=10),
        )
        self.fleet.selftests[run_id] = (trigger, checks)
        if self.signal is not None:
            await self.link.send(SelftestResult(run_id=run_id, checks=checks))
        self.selftest_answered.set()

    def _later(self, delay: float, coro: Coroutine[Any, Any, None]) -> None:
        async def run() -> None:
            await asyncio.sleep(delay)
            try:
                await coro
            except Exception:
                # A background step (answering, a self-test) failed: say so, keep the tablet.
                log.exception("headless tablet: a background step failed")

        task = asyncio.create_task(run())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _close_call(self) -> None:
        self.in_call.clear()
        self.call_over.set()
        await self.media.close()
