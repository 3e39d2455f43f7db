"""What the failover tests and bench/failover.py share: a cluster on a real PostgreSQL, a
call across instances, kill -9 and restart under the same id, and watching frames return.

Everything listens on 127.0.0.1; run inside the loopback-only namespace (scripts/test).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from media.client_peer import ClientPeer
from protocol.messages import ServerMessage
from store import SqlStore
from tablet_client.headless import HeadlessTablet
from tablet_client.headless_staff import HeadlessNurse
from tests.conftest import NURSE_PASSWORD
from tests.scaleout.conftest import Cluster, Instance


class RecordingTablet(HeadlessTablet):
    """A headless tablet that remembers when each message arrived."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.seen: list[tuple[float, ServerMessage]] = []

    async def _on_message(self, message: ServerMessage) -> None:
        self.seen.append((time.monotonic(), message))
        await super()._on_message(message)


class FrameWatch:
    """Samples a peer's decoded-frame count; the longest stretch without a new frame."""

    def __init__(self, peer: ClientPeer) -> None:
        self._peer = peer
        self.longest_gap = 0.0
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        last_count, last_change = -1, time.monotonic()
        while True:
            count = sum(self._peer.stats.video_frames.values())
            now = time.monotonic()
            if count != last_count:
                last_count, last_change = count, now
            self.longest_gap = max(self.longest_gap, now - last_change)
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self._task.cancel()


async def frames_after(
    get_peer: Callable[[], ClientPeer | None], since: float, n: int, timeout: float
) -> float:
    """Seconds from `since` until the current peer (it may be replaced) decoded n frames."""
    async with asyncio.timeout(timeout):
        while True:
            peer = get_peer()
            if peer is not None and sum(peer.stats.video_frames.values()) >= n:
                return time.monotonic() - since
            await asyncio.sleep(0.02)


@dataclass
class CrossCall:
    """A nurse and a tablet in one call, each on its own instance."""

    nurse: HeadlessNurse
    tablet: RecordingTablet
    call_id: str
    client_id: str

    async def stop(self) -> None:
        await self.nurse.stop()
        await self.tablet.stop()


async def call_across(
    cluster: Cluster, nurse_at: str, tablet_at: str, *, nurse: str = "nurse1", name: str = "Aino"
) -> CrossCall:
    """A call placed from `nurse_at` (which hosts its media) to a tablet on `tablet_at`."""
    others = [i for i in cluster.instances if i != nurse_at]
    client, token = await cluster.add_client(name)
    staff = HeadlessNurse(cluster.urls(nurse_at, *others), nurse, NURSE_PASSWORD, reconnect=True)
    tablet_others = [i for i in cluster.instances if i != tablet_at]
    tablet = RecordingTablet(cluster.urls(tablet_at, *tablet_others), token, answer_after_s=0)
    await tablet.start()
    await staff.start()
    call_id = await staff.call(client.id)
    await asyncio.wait_for(tablet.in_call.wait(), 5)
    assert staff.peer is not None and tablet.peer is not None
    await staff.peer.wait_for_video_frames(20, timeout=10)
    await tablet.peer.wait_for_video_frames(20, timeout=10)
    return CrossCall(staff, tablet, call_id, client.id)


async def media_back(
    call: CrossCall, since: float, *, restarts: int, timeout: float, frames: int = 20
) -> float:
    """Seconds from `since` until both ends, told `media.restart` at least `restarts` times
    in all, decode `frames` frames again on their new peer connections."""

    def peer_of(side: HeadlessNurse | RecordingTablet) -> Callable[[], ClientPeer | None]:
        return lambda: side.peer if side.media_restarts >= restarts else None

    to_nurse = await frames_after(peer_of(call.nurse), since, frames, timeout)
    to_tablet = await frames_after(peer_of(call.tablet), since, frames, timeout)
    return max(to_nurse, to_tablet)


async def kill_and_restart(instance: Instance) -> None:
    """kill -9, then the same instance id (and port) back at once, as a restart policy does."""
    instance.kill9()
    await instance.wait_exit(10)
    await instance.start()


async def open_rows(store: SqlStore) -> list[str]:
    """Ids of session records that have no end."""
    return [s.id for s in await store.recent_sessions(limit=1000) if s.end_at is None]


@contextlib.asynccontextmanager
async def row_locked(engine: AsyncEngine, session_id: str) -> AsyncIterator[AsyncConnection]:
    """Hold a session record's row lock: whoever writes that record waits until we let go."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        await conn.execute(
            sa.text("SELECT id FROM care_session WHERE id = :id FOR UPDATE"), {"id": session_id}
        )
        try:
            yield conn
        finally:
            await transaction.rollback()


async def writer_held_back(engine: AsyncEngine, timeout: float) -> None:
    """Wait until some connection waits for a row lock to update a session record."""
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND query ILIKE 'UPDATE care_session%'"
    )
    deadline = time.monotonic() + timeout
    async with engine.connect() as conn:
        while not (await conn.execute(query)).scalar_one():
            if time.monotonic() > deadline:
                raise TimeoutError("nobody tried to write the session record")
            await conn.commit()  # a fresh snapshot of pg_stat_activity
            await asyncio.sleep(0.05)
