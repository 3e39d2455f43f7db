"""Redis going away and an instance draining, seen by users through the shipped nginx
config: calls go on, the cluster heals by itself."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp
import pytest

from care_sessions.records import EndReason
from tablet_client.headless import HeadlessTablet
from tablet_client.headless_staff import CallRefused, HeadlessNurse
from tests.conftest import NURSE_PASSWORD
from tests.scaleout.conftest import Cluster, until
from tests.scaleout.per_socket import call_through
from tests.scaleout.proxy import NginxProxy
from tests.scaleout.test_failover import FrameWatch, _frames_after


def _roster_healed(nurse: HeadlessNurse, arrived: str, left: str) -> Callable[[], bool]:
    def healed() -> bool:
        presence = nurse.view.presence
        return presence.get(arrived) == "online" and presence.get(left) == "offline"

    return healed


async def test_a_redis_restart_mid_call_keeps_the_call_and_presence_recovers(
    cluster: Cluster, proxy: NginxProxy
) -> None:
    """Redis stops for 2 s during a call placed through the proxy: media never stops, a new
    call gets a clear "unavailable" error meanwhile, and once Redis is back (empty: no
    persistence) the roster is right again within 10 s on the call's host (its nurse) and
    on the other instance (a nurse there), nobody whose socket never dropped hears
    `call.accepted` twice, and the call ends normally."""
    await cluster.add_instance("a")
    await cluster.add_instance("b")
    nurse, tablet, call_id, _ = await call_through(cluster, proxy.url, proxy.url)
    host = await cluster.host_of(call_id)
    other_instance = next(i for i in cluster.instances.values() if i is not host)
    other, other_token = await cluster.add_client("Bertta")
    late, late_token = await cluster.add_client("Cecilia")
    other_tablet = HeadlessTablet(proxy.url, other_token)
    late_tablet = HeadlessTablet(proxy.url, late_token)
    await other_tablet.start()
    # A nurse on the instance that does not host the call: what that instance shows.
    nurse_b = HeadlessNurse(other_instance.url, "nurse2", NURSE_PASSWORD)
    await nurse_b.start()
    assert nurse.peer is not None and tablet.peer is not None
    watches = [FrameWatch(nurse.peer), FrameWatch(tablet.peer)]
    try:
        await until(lambda: nurse.view.presence.get(other.id) == "online", 5)
        cluster.redis.stop()
        await asyncio.sleep(1.0)
        # While Redis is away: a new call is refused with a clear error, not a hang.
        with pytest.raises(CallRefused) as refused:
            await nurse_b.call(other.id, timeout=5)
        assert refused.value.reason == "unavailable"
        # And the roster changes where the other instances cannot hear about it yet.
        await other_tablet.stop()
        await late_tablet.start()
        await asyncio.sleep(1.0)

        cluster.redis.start()
        for observer in (nurse, nurse_b):
            assert await until(_roster_healed(observer, late.id, other.id), 10) < 10
        for watch in watches:
            assert watch.longest_gap < 0.5, f"media stopped for {watch.longest_gap:.2f} s"

        await tablet.hang_up()  # forwarded to the host through the healed bus if need be
        await asyncio.wait_for(nurse.ended.wait(), 5)
        assert nurse.by_socket.accepted_per_socket() == [1]
        assert tablet.by_socket.accepted_per_socket() == [1]
        record = await cluster.store.session(call_id)
        assert record is not None and record.end_reason is EndReason.COMPLETED
        # New calls work again across the instances.
        assert nurse_b.peer is not None
        await nurse_b.peer.close()
        await nurse_b.call(late.id, timeout=5)
        await nurse_b.hang_up()
    finally:
        for watch in watches:
            await watch.stop()
        for peer in (nurse, nurse_b, tablet, other_tablet, late_tablet):
            await peer.stop()


async def test_sigterm_drains_refuses_new_sockets_moves_the_call_and_exits(
    cluster: Cluster, proxy: NginxProxy
) -> None:
    """SIGTERM on the instance hosting a call placed through the proxy: that instance refuses
    new sockets with 503 and the proxy takes them to the other one, the sockets it held come
    back through the proxy, the call moves (one record, one interruption), media flows again
    without anyone acting, and the process exits cleanly."""
    await cluster.add_instance("a", bus__drain_timeout_s="2")
    await cluster.add_instance("b", bus__drain_timeout_s="2")
    nurse, tablet, call_id, _ = await call_through(cluster, proxy.url, proxy.url)
    host = await cluster.host_of(call_id)
    try:
        term_at = time.monotonic()
        host.terminate()
        await asyncio.sleep(0.3)
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(host.ws_url)
            assert refused.value.status == 503
            # Through the proxy a new socket is still welcome: nginx tries the next instance.
            async with http.ws_connect(proxy.ws_url) as ws:
                await ws.send_json({"type": "hello", "token": "not-a-device-token"})
                reply = await ws.receive_json(timeout=5)
                assert reply["code"] == "not_authenticated"

        assert await host.wait_exit(20) == 0
        to_nurse = await _frames_after(
            lambda: nurse.peer if nurse.media_restarts else None, term_at, 20, 15
        )
        to_tablet = await _frames_after(
            lambda: tablet.peer if tablet.media_restarts else None, term_at, 20, 15
        )
        assert max(to_nurse, to_tablet) < 15
        await asyncio.wait_for(nurse.connected.wait(), 5)

        await nurse.hang_up()
        await asyncio.wait_for(tablet.call_over.wait(), 5)
        record = await cluster.store.session(call_id)
        assert record is not None
        assert record.end_reason is EndReason.COMPLETED and record.interruptions == 1
    finally:
        await nurse.stop()
        await tablet.stop()
