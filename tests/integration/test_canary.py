"""Canary: health values go to the database and the client's export, and nowhere else.

A glucose value and a note carrying unique markers go through a whole check-in on a server
that uses Redis for its bus. Afterwards the markers must be in the database and the export,
and absent from every log record, every Redis key and value, every message published on
Redis, and the Prometheus metrics.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import time
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from aiohttp import web

from care_sessions.access_log import AccessQuery
from care_sessions.care_plans import ALL_WEEKDAYS, CheckinKind, Completer, PlanItem
from care_sessions.identity import Role
from care_sessions.schedule import at_local
from hoiva.app import SERVICES, build_app
from store import SqlStore
from tests.conftest import ADMIN_PASSWORD, NURSE_PASSWORD, RunningServer, make_config
from tests.fake_clock import FakeClock
from tests.integration.test_checkins_e2e import DAY, START
from tests.integration.wire import RawSocket, staff_socket
from tests.scaleout.conftest import RedisServer

# 27.3 mmol/L is plausible (the form allows it) and appears nowhere else in Hoiva.
GLUCOSE = 27.3
GLUCOSE_TEXT = "27.3"


class _Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
async def redis_backed(tmp_path: Path) -> AsyncIterator[tuple[RunningServer, FakeClock, str]]:
    redis_server = RedisServer(tmp_path / "redis")
    redis_server.start()
    clock = FakeClock(START)
    config = make_config(
        tmp_path, **{"bus.redis_url": redis_server.url, "bus.instance_id": "canary-1"}
    )
    app = await build_app(config, clock=clock)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, config.server.host, config.server.port).start()
    server = RunningServer(
        url=f"http://{config.server.host}:{config.server.port}",
        services=app[SERVICES],
        runner=runner,
    )
    server.admin = await server.add_staff("admin", Role.ADMIN, ADMIN_PASSWORD)
    server.nurses = [await server.add_staff("nurse1", Role.NURSE, NURSE_PASSWORD)]
    try:
        yield server, clock, redis_server.url
    finally:
        await runner.cleanup()
        redis_server.stop()


async def _redis_dump(url: str) -> str:
    """Every key and every value in Redis, as text."""
    client = aioredis.from_url(url)
    parts: list[str] = []
    try:
        async for key in client.scan_iter(count=1000):
            parts.append(repr(key))
            kind = (await client.type(key)).decode()
            if kind == "string":
                parts.append(repr(await client.get(key)))
            elif kind == "hash":
                parts.append(repr(await client.hgetall(key)))
            elif kind == "set":
                parts.append(repr(await client.smembers(key)))
            elif kind == "zset":
                parts.append(repr(await client.zrange(key, 0, -1, withscores=True)))
            elif kind == "list":
                parts.append(repr(await client.lrange(key, 0, -1)))
            elif kind == "stream":
                parts.append(repr(await client.xrange(key)))
    finally:
        await client.aclose()
    return "\n".join(parts)


async def test_health_values_stay_in_the_database_and_the_export(
    redis_backed: tuple[RunningServer, FakeClock, str],
) -> None:
    server, clock, redis_url = redis_backed
    marker = f"CANARY-{uuid.uuid4().hex}"
    logs = _Everything()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(logs)
    root.setLevel(logging.DEBUG)
    published: list[str] = []
    watcher = aioredis.from_url(redis_url)
    pubsub = watcher.pubsub()
    await pubsub.psubscribe("*")

    async def listen() -> None:
        async for message in pubsub.listen():
            published.append(repr(message.get("data")))

    listening = asyncio.create_task(listen())
    try:
        client = await server.add_client("Aino")
        tablet = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(client))
        nurse = await staff_socket(server, "nurse1", NURSE_PASSWORD)
        service = server.services.signaling.checkins
        assert service is not None
        item = PlanItem(
            id=str(uuid.uuid4()),
            client_id=client.id,
            kind=CheckinKind.GLUCOSE,
            label="evening blood sugar",
            weekdays=ALL_WEEKDAYS,
            times=(time(18, 0),),
            window_min=30,
            remind=False,
            completed_by=Completer.NURSE,
            created_by="test",
        )
        await service.store.add_plan_item(item)
        await service.plan_changed(client.id)
        checkin_id = f"{item.id}:{DAY.isoformat()}:1800"
        clock.set(at_local(DAY, time(18, 0)))
        await service.tick()
        await nurse.send({"type": "call.start", "client_id": client.id})
        call_id = (await nurse.expect("call.ringing"))["call_id"]
        await tablet.send({"type": "call.answer", "call_id": call_id})
        await nurse.expect("call.accepted")
        await nurse.send(
            {
                "type": "checkin.record",
                "checkin_id": checkin_id,
                "outcome": "measured",
                "glucose_mmol_l": GLUCOSE,
                "note": f"felt dizzy {marker}",
            }
        )
        recorded = await nurse.expect("checkin.recorded")
        assert recorded["checkin_id"] == checkin_id
        await nurse.send({"type": "call.end", "call_id": call_id})
        await nurse.expect("call.ended")

        store = server.services.store
        assert isinstance(store, SqlStore)
        async with store.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.text(
                        "SELECT glucose_mmol_l, note FROM checkin_outcome WHERE checkin_id = :id"
                    ),
                    {"id": checkin_id},
                )
            ).one()
        assert row.glucose_mmol_l == pytest.approx(GLUCOSE)
        assert marker in row.note

        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            session = await server.services.auth.login("admin", ADMIN_PASSWORD)
            http.cookie_jar.update_cookies({"hoiva_session": session.token}, server.url_obj)
            export = await (await http.get(f"{server.url}/admin/clients/{client.id}/export")).text()
            metrics = await (await http.get(f"{server.url}/metrics")).text()
        assert marker in export and GLUCOSE_TEXT in export
        logged = await server.services.access_log.search(AccessQuery(client_id=client.id))
        assert any(
            (e.actor_id, e.action.value, e.data.value)
            == (server.nurses[0].id, "change", "outcomes")
            for e in logged
        ), "the nurse's recorded outcome is not in the client's access log"

        await asyncio.sleep(0.2)  # let the last pub/sub messages arrive
        redis_text = await _redis_dump(redis_url)
        assert redis_text, "the Redis bus wrote nothing: the check is empty"
        assert published, "nothing was published on Redis: the check is empty"
        assert logs.lines, "no log records were captured: the check is empty"
        for place, text in (
            ("logs", "\n".join(logs.lines)),
            ("redis keys and values", redis_text),
            ("redis pub/sub", "\n".join(published)),
            ("metrics", metrics),
        ):
            assert marker not in text, f"the note's marker leaked into {place}"
            assert GLUCOSE_TEXT not in text, f"the glucose value leaked into {place}"
        await tablet.close()
        await nurse.close()
    finally:
        root.removeHandler(logs)
        root.setLevel(old_level)
        listening.cancel()
        await pubsub.aclose()
        await watcher.aclose()
