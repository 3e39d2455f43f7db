"""The in-process bus: one Hoiva instance, no other instance to tell, everything in memory."""

from __future__ import annotations

import os
import socket
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence

from signaling.bus import Body, BusListener, BusUnavailable, CallFlag, CallFlagName

MAX_RESUME_TOKENS = 100_000


def default_instance_id() -> str:
    """Host name and process id: unique enough among the instances of one deployment."""
    return f"{socket.gethostname()}-{os.getpid()}"


class LocalBus:
    """The embedded default (no Redis configured): the registry lives in this process."""

    def __init__(self, instance_id: str = "") -> None:
        self._instance_id = instance_id or default_instance_id()
        self._engaged: dict[str, str] = {}
        self._rooms: dict[str, str] = {}
        self._calls: dict[str, bytes] = {}
        self._resume: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._draining = False

    @property
    def instance_id(self) -> str:
        return self._instance_id

    @property
    def clustered(self) -> bool:
        return False

    @property
    def healthy(self) -> bool:
        return True

    async def start(self, listener: BusListener) -> None:
        # Nothing ever arrives from elsewhere, so the listener is never called.
        del listener

    async def close(self) -> None:
        self._engaged.clear()
        self._rooms.clear()
        self._calls.clear()

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

    # ---- routing: there is nobody else to route to ---------------------------------------

    async def deliver(self, instance_id: str, subject_id: str, text: str) -> None:
        return None

    async def publish_staff(self, text: str, roles: frozenset[str]) -> None:
        return None

    async def request(self, instance_id: str, op: str, body: Body, timeout: float) -> Body:
        raise BusUnavailable(f"no instance {instance_id} in a single-process deployment")

    # ---- calls and rooms -----------------------------------------------------------------

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
        owner = self._rooms.get(room_id)
        if owner is not None and owner not in (self._instance_id, replacing):
            return False
        self._rooms[room_id] = self._instance_id
        return True

    async def room_owner(self, room_id: str) -> str | None:
        return self._rooms.get(room_id)

    async def release_room(self, room_id: str) -> None:
        self._rooms.pop(room_id, None)

    async def save_call(self, call_id: str, snapshot: bytes) -> None:
        # Nobody could take the call over, so the snapshot is not kept.
        return None

    async def load_call(self, call_id: str) -> bytes | None:
        return None

    async def forget_call(self, call_id: str) -> None:
        return None

    async def calls_of(self, instance_id: str) -> list[str]:
        return []

    # ---- instances and resumption --------------------------------------------------------

    async def live_instances(self) -> list[str]:
        return [] if self._draining else [self._instance_id]

    async def set_draining(self) -> None:
        self._draining = True

    async def put_resume(self, token: str, subject_id: str, ttl_s: float) -> None:
        self._resume[token] = (subject_id, time.monotonic() + ttl_s)
        if len(self._resume) > MAX_RESUME_TOKENS:
            # The oldest token belongs to a socket long gone (or long lived, which will get a
            # fresh token on its next hello anyway); forgetting it bounds the memory.
            self._resume.popitem(last=False)

    async def take_resume(self, token: str) -> str | None:
        entry = self._resume.pop(token, None)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]
