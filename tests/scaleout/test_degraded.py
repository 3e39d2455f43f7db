"""Redis going away and an instance draining: calls go on, the cluster heals by itself."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from care_sessions.records import EndReason
from tablet_client.headless import HeadlessTablet
from tablet_client.headless_staff import CallRefused, HeadlessNurse
from tests.conftest import NURSE_PASSWORD
from tests.scaleout.conftest import Cluster, until
from tests.scaleout.test_failover import FrameWatch, _call_across, _frames_after


async def test_a_redis_restart_mid_call_keeps_the_call_and_presence_recovers(
    cluster: Cluster,
) -> None:
    """Redis stops for 2 s during a cross-instance call: media never stops, a new call gets
    a clear "unavailable" error meanwhile, and once Redis is back (empty: no persistence) the
    roster on every instance is right again within 10 s and the call ends normally."""
    await cluster.add_instance("a")
    b = await cluster.add_instance("b")
    nurse, tablet, call_id, _ = await _call_across(cluster, nurse_at="a", tablet_at="b")
    other, other_token = await cluster.add_client("Bertta")
    late, late_token = await cluster.add_client("Cecilia")
    other_tablet = HeadlessTablet(b.url, other_token)
    late_tablet = HeadlessTablet(b.url, late_token)
    await other_tablet.start()
    nurse_b = HeadlessNurse(b.url, "nurse2", NURSE_PASSWORD)
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
        # And the roster changes on instance b that instance a cannot hear about yet.
        await other_tablet.stop()
        await late_tablet.start()
        await asyncio.sleep(1.0)

        cluster.redis.start()
        healed = await until(
            lambda: (
                nurse.view.presence.get(late.id) == "online"
                and nurse.view.presence.get(other.id) == "offline"
            ),
            10,
        )
        assert healed < 10
        for watch in watches:
            assert watch.longest_gap < 0.5, f"media stopped for {watch.longest_gap:.2f} s"

        await tablet.hang_up()  # forwarded b -> a through the healed bus
        await asyncio.wait_for(nurse.ended.wait(), 5)
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
    cluster: Cluster,
) -> None:
    """SIGTERM on the instance hosting a call: new sockets there get 503, its sockets come
    back on the other instance, the call moves there (one record, one interruption), media
    flows again without anyone acting, and the process exits cleanly."""
    a = await cluster.add_instance("a", bus__drain_timeout_s="2")
    await cluster.add_instance("b")
    nurse, tablet, call_id, _ = await _call_across(cluster, nurse_at="a", tablet_at="b")
    try:
        term_at = time.monotonic()
        a.terminate()
        await asyncio.sleep(0.3)
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(a.ws_url)
        assert refused.value.status == 503

        assert await a.wait_exit(20) == 0
        to_nurse = await _frames_after(
            lambda: nurse.peer if nurse.media_restarts else None, term_at, 20, 15
        )
        to_tablet = await _frames_after(
            lambda: tablet.peer if tablet.media_restarts else None, term_at, 20, 15
        )
        assert max(to_nurse, to_tablet) < 15
        assert nurse.connected.is_set()

        await nurse.hang_up()
        await asyncio.wait_for(tablet.call_over.wait(), 5)
        record = await cluster.store.session(call_id)
        assert record is not None
        assert record.end_reason is EndReason.COMPLETED and record.interruptions == 1
    finally:
        await nurse.stop()
        await tablet.stop()
