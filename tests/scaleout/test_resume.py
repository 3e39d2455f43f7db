"""Reconnecting: resume tokens outlive a Redis restart, and `call.accepted` comes exactly once
per (re)connection (docs/protocol.md), whatever restarted or died meanwhile."""

from __future__ import annotations

import asyncio
import os
import signal
import time

from care_sessions.records import EndReason
from client_kit.signaling import SignalingClient
from protocol.messages import CallAccepted, MediaRestart, ServerMessage, Welcome
from tests.scaleout.conftest import Cluster, until
from tests.scaleout.per_socket import call_through
from tests.scaleout.proxy import NginxProxy
from tests.scaleout.test_failover import _frames_after


async def _ignore(_message: ServerMessage) -> None:
    return None


async def _hello(ws_url: str, device_token: str, resume_token: str | None) -> Welcome:
    """One tablet socket through to its welcome, then closed."""
    signal = SignalingClient(ws_url, token=device_token, resume_token=resume_token)
    try:
        return await signal.connect(_ignore)
    finally:
        await signal.close()


async def _restart_redis(cluster: Cluster) -> None:
    """Stop Redis (it keeps nothing), start it empty, and wait until every instance has
    announced what it holds again."""
    joined = {name: i.times_joined() for name, i in cluster.instances.items()}
    cluster.redis.stop()
    await asyncio.sleep(1.0)
    cluster.redis.start()
    await until(lambda: all(i.times_joined() > joined[n] for n, i in cluster.instances.items()), 15)


async def test_resume_tokens_survive_a_redis_restart_and_stay_single_use(
    cluster: Cluster, proxy: NginxProxy
) -> None:
    """Through the proxy: a token issued before Redis restarted still resumes after it (once);
    a token already used before the restart stays used."""
    await cluster.add_instance("a")
    await cluster.add_instance("b")
    _client, device = await cluster.add_client("Aino")
    first = await _hello(proxy.ws_url, device, None)
    assert first.resume_token is not None and not first.resumed
    second = await _hello(proxy.ws_url, device, first.resume_token)
    assert second.resumed and second.resume_token is not None

    await _restart_redis(cluster)

    assert not (await _hello(proxy.ws_url, device, first.resume_token)).resumed
    after = await _hello(proxy.ws_url, device, second.resume_token)
    assert after.resumed, "a token issued before the Redis restart resumes after it"
    assert not (await _hello(proxy.ws_url, device, second.resume_token)).resumed


async def test_a_redis_restart_sends_no_second_call_accepted(cluster: Cluster) -> None:
    """A call across instances (nurse and media on a, tablet's socket on b) while Redis
    restarts: every instance announces its sockets again, and neither end, whose sockets never
    dropped, hears `call.accepted` a second time. A socket that drops afterwards comes back
    `resumed` with exactly one `call.accepted`."""
    a = await cluster.add_instance("a")
    b = await cluster.add_instance("b")
    nurse, tablet, call_id, _ = await call_through(cluster, a.url, b.url)
    try:
        await _restart_redis(cluster)
        assert tablet.by_socket.opened() == 1 and nurse.by_socket.opened() == 1

        assert tablet.signal is not None
        await tablet.signal.close()  # the tablet's network blips; it comes back on b
        await until(
            lambda: (
                tablet.by_socket.opened() == 2 and tablet.by_socket.accepted_per_socket()[1] > 0
            ),
            10,
        )
        assert tablet.by_socket.welcomes()[1].resumed

        await tablet.hang_up()  # after anything the owner sent the tablet before, in order
        await asyncio.wait_for(nurse.ended.wait(), 5)
        assert tablet.by_socket.accepted_per_socket() == [1, 1]
        assert nurse.by_socket.accepted_per_socket() == [1]
        record = await cluster.store.session(call_id)
        assert record is not None and record.end_reason is EndReason.COMPLETED
    finally:
        await nurse.stop()
        await tablet.stop()


async def test_after_the_host_dies_every_new_socket_hears_call_accepted_once(
    cluster: Cluster, proxy: NginxProxy
) -> None:
    """Through the proxy: kill -9 of the instance hosting the call. Whoever lost a socket
    reconnects (to the survivor), is `resumed`, and hears `call.accepted` exactly once on the
    new socket, even though the call's owner is dead at that moment; a socket that never
    dropped hears it no more. The survivor adopts the call and media flows again."""
    # A dead instance is declared dead after 6 s here, so the nurse is surely back (about
    # 1 s) while nobody owns her call yet.
    await cluster.add_instance("a", bus__instance_ttl_s="6")
    await cluster.add_instance("b", bus__instance_ttl_s="6")
    nurse, tablet, call_id, _ = await call_through(cluster, proxy.url, proxy.url)
    try:
        host = await cluster.host_of(call_id)  # where the nurse's call.start arrived
        killed_at = time.monotonic()
        host.kill9()
        await until(lambda: nurse.by_socket.opened() == 2, 10)
        await until(lambda: nurse.by_socket.accepted_per_socket()[1] >= 1, 10)
        assert nurse.by_socket.welcomes()[1].resumed
        await _frames_after(lambda: nurse.peer if nurse.media_restarts else None, killed_at, 20, 15)
        await _frames_after(
            lambda: tablet.peer if tablet.media_restarts else None, killed_at, 20, 15
        )

        await nurse.hang_up()
        await asyncio.wait_for(tablet.call_over.wait(), 5)
        for user in (nurse, tablet):
            welcomes = user.by_socket.welcomes()
            assert all(w.resumed for w in welcomes[1:]), "every reconnect was resumed"
            assert user.by_socket.accepted_per_socket() == [1] * len(welcomes)
        # She heard it from the instance holding her new socket before the call was adopted.
        back = list(nurse.by_socket.sockets.values())[1]
        kinds = [type(m) for m in back]
        assert kinds.index(CallAccepted) < kinds.index(MediaRestart)
        record = await cluster.store.session(call_id)
        assert record is not None
        assert record.end_reason is EndReason.COMPLETED and record.interruptions == 1
    finally:
        await nurse.stop()
        await tablet.stop()


async def test_a_participant_back_while_the_host_is_frozen_hears_call_accepted_at_once(
    cluster: Cluster,
) -> None:
    """The call's host stops answering (SIGSTOP: a stalled VM) as the nurse's network blips:
    she reconnects to the other instance while nobody can carry her call on, is `resumed`,
    and hears `call.accepted` there at once, from the call's last snapshot, not only when
    (and if) a survivor adopts it. When the host then dies, the survivor adopts the call:
    `media.restart` follows, and the tablet, whose socket never dropped, heard no second
    `call.accepted`."""
    a = await cluster.add_instance("a", bus__instance_ttl_s="6")
    b = await cluster.add_instance("b", bus__instance_ttl_s="6")
    nurse, tablet, call_id, _ = await call_through(cluster, [a.url, b.url], b.url)
    try:
        assert a.process is not None
        os.kill(a.process.pid, signal.SIGSTOP)
        assert nurse.signal is not None
        await nurse.signal.close()  # she comes back on b, the next server she knows
        await until(lambda: nurse.by_socket.opened() == 2, 10)
        await until(lambda: nurse.by_socket.accepted_per_socket()[1] == 1, 5)
        assert nurse.by_socket.welcomes()[1].resumed
        back = list(nurse.by_socket.sockets.values())[1]
        assert not any(isinstance(m, MediaRestart) for m in back), "not adopted yet"

        a.kill9()
        await until(lambda: nurse.media_restarts == 1 and tablet.media_restarts == 1, 15)
        assert nurse.peer is not None and tablet.peer is not None
        await nurse.peer.wait_for_video_frames(20, timeout=15)
        await tablet.peer.wait_for_video_frames(20, timeout=15)

        await nurse.hang_up()
        await asyncio.wait_for(tablet.call_over.wait(), 5)
        assert nurse.by_socket.accepted_per_socket() == [1, 1]
        assert tablet.by_socket.accepted_per_socket() == [1]
        record = await cluster.store.session(call_id)
        assert record is not None
        assert record.end_reason is EndReason.COMPLETED and record.interruptions == 1
    finally:
        await nurse.stop()
        await tablet.stop()
