"""The in-process bus: one Hoiva instance, no other instance to tell, everything in memory.

This is the complete single-node behaviour; the Redis bus (signaling/bus_redis.py) is a
LocalBus that adds the cross-instance parts, so what this class keeps (engaged marks, rooms,
resume tokens, draining) the Redis bus keeps the same way, to announce it again after an
outage.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence

from signaling.bus import (
    Body,
    BusListener,
    BusUnavailable,
    CallFlag,
    CallFlagName,
    Succession,
    Sweeper,
)
from signaling.resume_book import ResumeBook


def default_instance_id() -> str:
    """Host name and process id: unique enough among the instances of one deployment."""
    return f"{socket.gethostname()}-{os.getpid()}"


class LocalSuccession:
    """One process: its calls never outlive it, and nobody could take them over."""

    def start_sweep(self, sweep: Sweeper) -> None:
        # Every open record without a live call here is from an earlier run, and those are
        # closed as interrupted at start (hoiva/app.py); there is nothing left to sweep.
        del sweep

    async def drain(self, hand_over: Callable[[], Awaitable[None]]) -> None:
        # No other instance to hand sockets or calls to: they end with the process, as
        # `interrupted` (SignalingRuntime.close), without waiting for a drain timeout.
        del hand_over


class LocalBus:
    """The embedded default (no Redis configured): the registry lives in this process."""

    def __init__(self, instance_id: str = "") -> None:
        self._instance_id = instance_id or default_instance_id()
        self._engaged: dict[str, str] = {}
        self._rooms: set[str] = set()
        self._resume = ResumeBook()
        self._draining = False

    @property
    def instance_id(self) -> str:
        return self._instance_id

    @property
    def healthy(self) -> bool:
        return True

    @property
    def succession(self) -> Succession:
        return LocalSuccession()

    async def start(self, listener: BusListener) -> None:
        # Nothing ever arrives from elsewhere, so the listener is never called.
        del listener

    async def close(self) -> None:
        self._engaged.clear()
        self._rooms.clear()

    # ---- presence registry: every socket is local ----------------------------------------

    def remote_instances(self, subject_id: str) -> frozenset[str]:
        return frozenset()

    def remote_flag(self, client_id: str) -> CallFlag | None:
        return None

    def remote_subjects(self) -> Mapping[str, frozenset[str]]:
        return {}

    async def connection_up(self, subject_id: str, *, exclusive: bool) -> int:
        # The hub orders local sockets itself; a sequence number matters across instances.
        return 0

    async def connection_down(self, subject_id: str) -> None:
        return None

    async def set_call_flag(self, client_id: str, flag: CallFlagName | None) -> None:
        return None

    # ---- messaging: there is nobody else to route to -------------------------------------

    async def deliver(self, instance_id: str, subject_id: str, text: str) -> None:
        return None

    async def publish_staff(self, text: str, roles: frozenset[str]) -> None:
        return None

    async def request(self, instance_id: str, op: str, body: Body, timeout: float) -> Body:
        raise BusUnavailable(f"no instance {instance_id} in a single-process deployment")

    # ---- ownership: every room is this process's -----------------------------------------

    async def engage(self, subject_ids: Sequence[str], call_id: str) -> list[str]:
        taken = [s for s in subject_ids if self._engaged.get(s, call_id) != call_id]
        if not taken:
            self._engaged.update(dict.fromkeys(subject_ids, call_id))
        return taken

    async def release(self, subject_ids: Sequence[str], call_id: str) -> None:
        for subject in subject_ids:
            if self._engaged.get(subject) == call_id:
                del self._engaged[subject]

    async def engaged_call(self, subject_id: str) -> str | None:
        return self._engaged.get(subject_id)

    async def claim_room(self, room_id: str, *, replacing: str | None = None) -> bool:
        # No other instance could hold it.
        self._rooms.add(room_id)
        return True

    async def room_owner(self, room_id: str) -> str | None:
        return self._instance_id if room_id in self._rooms else None

    async def claim_orphan(self, room_id: str) -> bool:
        # One process: a room it does not hold belongs to a call of an earlier run.
        if room_id in self._rooms:
            return False
        self._rooms.add(room_id)
        return True

    async def release_room(self, room_id: str) -> None:
        self._rooms.discard(room_id)

    async def save_call(self, call_id: str, snapshot: bytes) -> None:
        # Nobody could take the call over, so the snapshot is not kept.
        return None

    async def load_call(self, call_id: str) -> bytes | None:
        return None

    async def forget_call(self, call_id: str) -> None:
        return None

    async def calls_of(self, instance_id: str) -> list[str]:
        # Only a dead instance's calls are asked for, and with one process there is none.
        return []

    async def live_instances(self) -> list[str]:
        return [] if self._draining else [self._instance_id]

    async def set_draining(self) -> None:
        self._draining = True

    # ---- resume tokens -------------------------------------------------------------------

    async def put_resume(self, token: str, subject_id: str, ttl_s: float) -> None:
        self._resume.issue(token, subject_id, ttl_s)

    async def take_resume(self, token: str) -> str | None:
        return self._resume.take(token)
