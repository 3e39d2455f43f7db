"""A media room: participants, who receives whom on which transceivers, and renegotiation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aiortc import RTCRtpTransceiver, RTCSessionDescription, sdp

from media.bitrate_policy import BitratePolicy, PublishHint
from media.errors import InvalidSdp, NegotiationError, RoomClosed, UnknownParticipant
from media.events import (
    Closed,
    ClosedReason,
    Connected,
    Failed,
    MediaEvent,
    RenegotiationFailed,
    TrackAdded,
    TrackRemoved,
)
from media.forwarding import ForwardingReceiver, ForwardingSender
from media.ice import rewrite_candidates, to_rtc_configuration
from media.offer_rules import check_offer
from media.parts import Publisher, Subscriber
from media.peer import ForwardingPeerConnection
from media.public_path import PublicPeerConnection
from media.room_budget import TICK_INTERVAL, PublisherInputs, PublisherStats, RoomBudget
from media.settings import MediaSettings

logger = logging.getLogger(__name__)

# How long close() lets queued events and offers reach signaling before dropping them.
_DRAIN_TIMEOUT = 2.0


class MediaSignal(Protocol):
    """What a room needs from signaling; handed in by `MediaServer.open_room`.

    A room awaits these one at a time, in order, from a single task: implementations should
    enqueue the message and return, not wait for the participant's reply.
    """

    async def send_offer(self, participant_id: str, sdp: str) -> None:
        """Deliver a server renegotiation offer; the answer returns via `accept_answer`."""

    async def media_event(self, participant_id: str, event: MediaEvent) -> None:
        """Report a media event about one participant (media/events.py, docs/media.md)."""


@dataclass(eq=False)
class _Slot:
    """A pair of server-side senders on one participant's connection carrying one publisher."""

    index: int
    audio: RTCRtpTransceiver | None
    video: RTCRtpTransceiver | None
    # The server's sender on each of those transceivers, by kind.
    senders: dict[str, Subscriber] = field(default_factory=dict)
    publisher_id: str | None = None
    announced: bool = False
    # (kind, mid) of the tracks reported in track_added, reported again in track_removed.
    announced_tracks: list[tuple[str, str]] = field(default_factory=list)

    def transceivers(self) -> Iterator[tuple[str, RTCRtpTransceiver, Subscriber]]:
        for kind, transceiver in (("audio", self.audio), ("video", self.video)):
            sender = self.senders.get(kind)
            if transceiver is not None and sender is not None:
                yield kind, transceiver, sender


# The server end of a participant's connection: the fast path's or aiortc's public one
# (`MediaSettings.fast_path`).
ServerPeer = ForwardingPeerConnection | PublicPeerConnection


def _new_slot(
    pc: ServerPeer, index: int, audio: RTCRtpTransceiver | None, video: RTCRtpTransceiver | None
) -> _Slot:
    senders: dict[str, Subscriber] = {}
    for kind, transceiver in (("audio", audio), ("video", video)):
        sender = pc.subscriber_part(transceiver) if transceiver is not None else None
        if sender is not None:
            senders[kind] = sender
    return _Slot(index, audio, video, senders)


@dataclass(eq=False)
class _Participant:
    participant_id: str
    pc: ServerPeer
    audio_in: Publisher | None
    video_in: Publisher | None
    slots: list[_Slot] = field(default_factory=list)
    connected: bool = False
    needs_offer: bool = False
    offer_scheduled: bool = False
    closing: bool = False

    def receiver(self, kind: str) -> Publisher | None:
        return self.audio_in if kind == "audio" else self.video_in


def _check_offer(offer_sdp: str) -> None:
    check_offer(offer_sdp)
    # aiortc's SDP parser is not written for hostile input and raises whatever it trips on.
    try:
        sdp.SessionDescription.parse(offer_sdp)
    except Exception as exc:
        raise InvalidSdp(f"unparsable offer: {exc}"[:300]) from exc


async def _close_refused(pc: ServerPeer) -> None:
    """Close a connection whose negotiation failed; aiortc may trip over its half-made state."""
    try:
        await pc.close()
    except Exception as exc:
        logger.debug("closing a refused peer connection: %r", exc)


class MediaRoom:
    """One call: every participant has one peer connection with the server."""

    def __init__(
        self, room_id: str, signal: MediaSignal, settings: MediaSettings, *, echo: bool = False
    ) -> None:
        self.room_id = room_id
        # An echo test: each participant receives its own media back through the server.
        self._echo = echo
        self._signal = signal
        self._settings = settings
        self._participants: dict[str, _Participant] = {}
        self._lock = asyncio.Lock()
        self._closed = False
        self._tasks: set[asyncio.Task[None]] = set()
        # Events and offers go to signaling in order, through one pump task.
        self._outbox: asyncio.Queue[Callable[[], Awaitable[None]] | None] = asyncio.Queue()
        self._pump: asyncio.Task[None] | None = None
        # Who may receive whom: participants only receive publishers of their own group
        # (a side call is a group of two). Unlisted participants share the default group.
        self._groups: dict[str, str] = {}
        self._budget: RoomBudget | None = None

    @property
    def participants(self) -> list[str]:
        return list(self._participants)

    @property
    def closed(self) -> bool:
        return self._closed

    async def connect(self, participant_id: str, offer_sdp: str) -> str:
        """Answer a participant's offer; a participant that connects again replaces itself."""
        self._check_open()
        _check_offer(offer_sdp)
        # Negotiated outside the room lock: it touches only the new connection, and gathering
        # can wait on a configured STUN/TURN server.
        pc = self._new_peer()
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        # Anything aiortc raises while negotiating untrusted SDP means the offer is bad: one
        # log line, no traceback (a hostile client must not flood the log).
        except Exception as exc:
            logger.warning("refused the offer of %s in %s: %r", participant_id, self.room_id, exc)
            await _close_refused(pc)
            raise InvalidSdp(f"cannot answer offer: {exc}"[:300]) from exc
        async with self._lock:
            if self._closed:
                await pc.close()
                raise RoomClosed(f"media room {self.room_id!r} is closed")
            previous = self._participants.pop(participant_id, None)
            if previous is not None:
                previous.closing = True
                self._unroute(previous)
            participant = self._new_participant(participant_id, pc)
            self._participants[participant_id] = participant
            pc.on("connectionstatechange", lambda: self._on_connection_state(participant))
            self._route()
            answer = rewrite_candidates(pc.localDescription.sdp, self._settings.announce_address)
        if previous is not None:
            await self._close_participant(previous, "replaced")
        return answer

    async def accept_answer(self, participant_id: str, answer_sdp: str) -> None:
        """Apply the participant's answer to the server's renegotiation offer."""
        async with self._lock:
            participant = self._require(participant_id)
            if participant.pc.signalingState != "have-local-offer":
                raise NegotiationError(f"no offer outstanding for {participant_id!r}")
            try:
                await participant.pc.setRemoteDescription(
                    RTCSessionDescription(sdp=answer_sdp, type="answer")
                )
            except Exception as exc:
                raise InvalidSdp(f"cannot apply answer: {exc}") from exc
            if participant.needs_offer:
                self._schedule_offer(participant)

    async def disconnect(self, participant_id: str) -> None:
        """Close the participant's connection; the others keep their call."""
        async with self._lock:
            participant = self._require(participant_id)
            del self._participants[participant_id]
            participant.closing = True
            self._unroute(participant)
        await self._close_participant(participant, "disconnected")

    def set_audio_forwarding(self, participant_id: str, enabled: bool) -> None:
        """Stop or resume forwarding this participant's microphone to everyone (host mute)."""
        participant = self._require(participant_id)
        if participant.audio_in is not None:
            participant.audio_in.set_forwarding(enabled)

    def set_bitrate_policy(self, policy: BitratePolicy | None) -> None:
        """Turn on (or off) publish hints, REMB caps and the per-subscriber ceiling."""
        self._check_open()
        if policy is None:
            self._budget = None
            return
        if self._budget is None:
            self._budget = RoomBudget(policy, self._emit)
            self._spawn(self._run_budget())
        else:
            self._budget.policy = policy
        self._budget.update_hints(self._publisher_inputs())

    def use_group_budget(self) -> None:
        """Share each subscriber's downlink the group-room way (the default BitratePolicy)."""
        self.set_bitrate_policy(BitratePolicy())

    def set_priorities(self, featured: Collection[str], order: Sequence[str]) -> None:
        """Who publishes at full rate (never paused), and the rank of everyone else."""
        if self._budget is not None:
            self._budget.set_priorities(featured, order)
            self._budget.update_hints(self._publisher_inputs())

    def publish_hint(self, participant_id: str) -> PublishHint | None:
        return self._budget.hint(participant_id) if self._budget is not None else None

    def publisher_stats(self) -> dict[str, PublisherStats]:
        """Per-participant upstream rates and loss, refreshed every budget tick."""
        return dict(self._budget.stats) if self._budget is not None else {}

    async def set_groups(self, groups: Mapping[str, str]) -> None:
        """Partition the room: everyone receives only the publishers of their own group."""
        async with self._lock:
            self._check_open()
            self._groups = dict(groups)
            for subscriber in self._participants.values():
                for slot in subscriber.slots:
                    publisher = self._participants.get(slot.publisher_id or "")
                    if slot.publisher_id is not None and (
                        publisher is None or not self._visible(subscriber, publisher)
                    ):
                        self._release(subscriber, slot)
            self._route()

    def subscriptions(self, participant_id: str) -> list[tuple[str, str, bool]]:
        """(publisher id, video mid, paused) of every video this participant receives."""
        participant = self._require(participant_id)
        found = []
        for slot in participant.slots:
            if slot.publisher_id is None or slot.video is None or slot.video.mid is None:
                continue
            sender = slot.senders.get("video")
            found.append((slot.publisher_id, slot.video.mid, sender is not None and sender.paused))
        return found

    def forwarding_parts(
        self, participant_id: str
    ) -> tuple[list[ForwardingReceiver], list[ForwardingSender]]:
        """The fast path's receivers and senders of the participant, for benchmarks and tests
        of the fast path (empty on the public path)."""
        receivers, senders = self.media_parts(participant_id)
        return (
            [r for r in receivers if isinstance(r, ForwardingReceiver)],
            [s for s in senders if isinstance(s, ForwardingSender)],
        )

    def media_parts(self, participant_id: str) -> tuple[list[Publisher], list[Subscriber]]:
        """The participant's server-side receivers and senders, on either path (metrics)."""
        participant = self._require(participant_id)
        receivers = [r for r in (participant.audio_in, participant.video_in) if r is not None]
        senders = [sender for slot in participant.slots for _, _, sender in slot.transceivers()]
        return receivers, senders

    def sent_octets(self) -> dict[int, int]:
        """Payload octets sent so far by each server sender in the room, keyed by a number
        that stays the sender's for its lifetime (forwarded-bitrate metrics)."""
        return {
            id(sender): sender.octets_forwarded
            for participant in self._participants.values()
            for slot in participant.slots
            for _, _, sender in slot.transceivers()
        }

    async def close(self) -> None:
        """Disconnect everyone and stop; the room cannot be used afterwards."""
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            participants = list(self._participants.values())
            self._participants.clear()
            for participant in participants:
                participant.closing = True
        tasks = tuple(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(self._close_participant(p, "room_closed") for p in participants))
        await self._drain_outbox()

    # -- routing ---------------------------------------------------------------------------

    def _new_peer(self) -> ServerPeer:
        configuration = to_rtc_configuration(self._settings.ice_servers)
        if self._settings.fast_path:
            return ForwardingPeerConnection(configuration)
        return PublicPeerConnection(configuration)

    def _new_participant(self, participant_id: str, pc: ServerPeer) -> _Participant:
        receivers: dict[str, Publisher] = {}
        senders: dict[str, RTCRtpTransceiver] = {}
        for transceiver in pc.getTransceivers():
            direction = transceiver.currentDirection
            receiver = pc.publisher_part(transceiver)
            if direction in ("recvonly", "sendrecv") and receiver is not None:
                receivers.setdefault(transceiver.kind, receiver)
            if direction in ("sendonly", "sendrecv"):
                senders.setdefault(transceiver.kind, transceiver)
        participant = _Participant(
            participant_id, pc, audio_in=receivers.get("audio"), video_in=receivers.get("video")
        )
        if senders:
            participant.slots.append(_new_slot(pc, 0, senders.get("audio"), senders.get("video")))
        return participant

    def _visible(self, subscriber: _Participant, publisher: _Participant) -> bool:
        groups = self._groups
        return groups.get(subscriber.participant_id, "") == groups.get(publisher.participant_id, "")

    def _route(self) -> None:
        """Give every participant a slot for every other visible participant (lock held)."""
        for subscriber in self._participants.values():
            for publisher in self._participants.values():
                if (
                    (publisher is subscriber and not self._echo)
                    or not self._visible(subscriber, publisher)
                    # A receive-only participant (an observer) needs no slot anywhere.
                    or (publisher.audio_in is None and publisher.video_in is None)
                    or any(
                        slot.publisher_id == publisher.participant_id for slot in subscriber.slots
                    )
                ):
                    continue
                slot = next((s for s in subscriber.slots if s.publisher_id is None), None)
                if slot is None:
                    slot = self._add_slot(subscriber)
                self._assign(subscriber, slot, publisher)
            self._announce(subscriber)
            if subscriber.needs_offer and subscriber.connected:
                self._schedule_offer(subscriber)
        if self._budget is not None:
            self._budget.update_hints(self._publisher_inputs())

    def _unroute(self, publisher: _Participant) -> None:
        if self._budget is not None:
            self._budget.forget(publisher.participant_id)
        for subscriber in self._participants.values():
            for slot in subscriber.slots:
                if slot.publisher_id == publisher.participant_id:
                    self._release(subscriber, slot)
        # A departing participant stops sending too; this detaches its senders from sources.
        for slot in publisher.slots:
            for _, _, sender in slot.transceivers():
                sender.attach(None)
        if self._budget is not None:
            # One publisher fewer may lift the others out of thumbnail size (small rooms).
            self._budget.update_hints(self._publisher_inputs())

    def _add_slot(self, subscriber: _Participant) -> _Slot:
        index = len(subscriber.slots)
        audio = subscriber.pc.add_sending_transceiver("audio")
        video = subscriber.pc.add_sending_transceiver("video")
        slot = _new_slot(subscriber.pc, index, audio, video)
        # One msid stream per slot, so that a browser lip-syncs a publisher's audio and video
        # (the fast path only: aiortc's public API keeps one stream per connection).
        for _, _, sender in slot.transceivers():
            sender.stream_id = f"hoiva-slot-{index}"
        subscriber.slots.append(slot)
        subscriber.needs_offer = True
        return slot

    def _assign(self, subscriber: _Participant, slot: _Slot, publisher: _Participant) -> None:
        slot.publisher_id = publisher.participant_id
        slot.announced = False
        slot.announced_tracks.clear()
        for kind, _, sender in slot.transceivers():
            sender.attach(publisher.receiver(kind))

    def _release(self, subscriber: _Participant, slot: _Slot) -> None:
        for _, _, sender in slot.transceivers():
            sender.attach(None)
        for kind, mid in slot.announced_tracks:
            assert slot.publisher_id is not None
            self._emit(
                subscriber.participant_id,
                TrackRemoved(
                    event="track_removed", publisher_id=slot.publisher_id, kind=kind, mid=mid
                ),
            )
        slot.publisher_id = None
        slot.announced = False
        slot.announced_tracks.clear()

    def _announce(self, subscriber: _Participant) -> None:
        """Emit track_added for assigned slots whose mids are known (negotiated or offered)."""
        for slot in subscriber.slots:
            if slot.publisher_id is None or slot.announced:
                continue
            parts = list(slot.transceivers())
            if any(transceiver.mid is None for _, transceiver, _ in parts):
                continue
            slot.announced = True
            for kind, transceiver, sender in parts:
                if sender.source is not None and transceiver.mid is not None:
                    slot.announced_tracks.append((kind, transceiver.mid))
                    self._emit(
                        subscriber.participant_id,
                        TrackAdded(
                            event="track_added",
                            publisher_id=slot.publisher_id,
                            kind=kind,
                            mid=transceiver.mid,
                            stream_id=sender.stream_id,
                        ),
                    )

    # -- renegotiation ---------------------------------------------------------------------

    def _schedule_offer(self, participant: _Participant) -> None:
        if not participant.offer_scheduled:
            participant.offer_scheduled = True
            self._spawn(self._renegotiate(participant))

    async def _renegotiate(self, participant: _Participant) -> None:
        pid = participant.participant_id
        async with self._lock:
            participant.offer_scheduled = False
            if (
                participant.closing
                or self._participants.get(pid) is not participant
                or not participant.needs_offer
                or not participant.connected
                # An offer is outstanding: accept_answer() schedules the next one.
                or participant.pc.signalingState != "stable"
            ):
                return
            participant.needs_offer = False
            try:
                await participant.pc.setLocalDescription(await participant.pc.createOffer())
            except Exception as exc:
                logger.exception("renegotiation offer for %s in %s failed", pid, self.room_id)
                self._emit(pid, RenegotiationFailed(event="renegotiation_failed", error=str(exc)))
                return
            offer = rewrite_candidates(
                participant.pc.localDescription.sdp, self._settings.announce_address
            )
            self._announce(participant)
            self._post(lambda: self._signal.send_offer(pid, offer))

    # -- connection lifecycle --------------------------------------------------------------

    def _on_connection_state(self, participant: _Participant) -> None:
        if participant.closing:
            return
        state = participant.pc.connectionState
        pid = participant.participant_id
        if state == "connected" and not participant.connected:
            participant.connected = True
            self._emit(pid, Connected(event="connected"))
            if participant.needs_offer:
                self._schedule_offer(participant)
        elif state == "failed":
            self._emit(pid, Failed(event="failed"))
            self._spawn(self._drop(participant, "failed"))
        elif state == "closed":
            self._spawn(self._drop(participant, "remote_closed"))

    async def _drop(self, participant: _Participant, reason: ClosedReason) -> None:
        async with self._lock:
            if self._participants.get(participant.participant_id) is not participant:
                return
            del self._participants[participant.participant_id]
            participant.closing = True
            self._unroute(participant)
        await self._close_participant(participant, reason)

    async def _close_participant(self, participant: _Participant, reason: ClosedReason) -> None:
        participant.closing = True
        try:
            # Shielded: aiortc shares one "closed" future between concurrent close() calls, and
            # cancelling a waiter would cancel that future under aiortc's own close task.
            await asyncio.shield(participant.pc.close())
        except Exception:
            logger.exception("closing %s in %s", participant.participant_id, self.room_id)
        self._emit(participant.participant_id, Closed(event="closed", reason=reason))

    # -- bitrate budget --------------------------------------------------------------------

    def _publisher_inputs(self) -> dict[str, PublisherInputs]:
        return {
            p.participant_id: PublisherInputs(p.connected, p.audio_in, p.video_in)
            for p in self._participants.values()
            if not p.closing
        }

    async def _run_budget(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._closed:
            await asyncio.sleep(TICK_INTERVAL)
            budget = self._budget
            if budget is None:
                return
            subscriptions: dict[str, list[tuple[str, Subscriber]]] = {}
            for subscriber in self._participants.values():
                streams = subscriptions[subscriber.participant_id] = []
                for slot in subscriber.slots:
                    sender = slot.senders.get("video")
                    if slot.publisher_id is not None and sender is not None and sender.started:
                        streams.append((slot.publisher_id, sender))
            try:
                budget.tick(loop.time(), self._publisher_inputs(), subscriptions)
            except Exception:
                # A policy bug must not stop forwarding; the room runs unbudgeted until fixed.
                logger.exception("bitrate budget failed in room %s", self.room_id)

    # -- plumbing --------------------------------------------------------------------------

    def _require(self, participant_id: str) -> _Participant:
        self._check_open()
        participant = self._participants.get(participant_id)
        if participant is None:
            raise UnknownParticipant(f"{participant_id!r} is not in media room {self.room_id!r}")
        return participant

    def _check_open(self) -> None:
        if self._closed:
            raise RoomClosed(f"media room {self.room_id!r} is closed")

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _emit(self, participant_id: str, event: MediaEvent) -> None:
        self._post(lambda: self._signal.media_event(participant_id, event))

    def _post(self, call: Callable[[], Awaitable[None]]) -> None:
        if self._pump is not None and self._pump.done():
            return  # closed and drained: nobody is listening any more
        self._outbox.put_nowait(call)
        if self._pump is None:
            self._pump = asyncio.ensure_future(self._run_outbox())

    async def _run_outbox(self) -> None:
        while True:
            call = await self._outbox.get()
            if call is None:
                return
            try:
                await call()
            except Exception:
                # A broken signaling path must not stop media for the rest of the room.
                logger.exception("media signal call failed in room %s", self.room_id)

    async def _drain_outbox(self) -> None:
        if self._pump is None:
            return
        self._outbox.put_nowait(None)
        try:
            async with asyncio.timeout(_DRAIN_TIMEOUT):
                await asyncio.shield(self._pump)
        except TimeoutError:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
