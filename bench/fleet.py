"""The tablet fleet under a steady load of heartbeats: how fast changes travel.

N headless tablets heartbeat every --heartbeat seconds into one server (SQLite) while an
admin socket watches the fleet. Measured: a tablet's heartbeat -> the admin's fleet.device
about it, and a settings change pushed by the server -> settings.update at the tablet.
Prints one JSON object as its last line.
Run: .venv/bin/python -m bench.fleet [--tablets 100] [--heartbeat 1] [--rounds 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import statistics
import time
from dataclasses import replace
from typing import Any

import aiohttp
from yarl import URL

from bench.harness import start_bench_server
from care_sessions.identity import Role, StaffUser
from care_sessions.secrets_kdf import hash_password
from tablet_client.headless import HeadlessTablet

ADMIN = ("bench-fleet-admin", "bench-fleet-password")


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))], 2)

    return {"median": round(statistics.median(ordered), 2), "p90": pct(0.9), "p99": pct(0.99)}


async def measure(tablets: int, heartbeat_s: float, rounds: int) -> dict[str, Any]:
    server = await start_bench_server(
        clients=tablets,
        overrides={
            "fleet.heartbeat_s": heartbeat_s,
            # Every tablet here comes from 127.0.0.1.
            "signaling.max_connections_per_address": tablets + 10,
        },
    )
    services = server.services
    fleet = services.fleet
    assert fleet is not None
    await services.store.add_staff(
        StaffUser("bench-fleet-admin-id", ADMIN[0], "Admin", Role.ADMIN, hash_password(ADMIN[1]))
    )
    session = await services.auth.login(*ADMIN)
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    http.cookie_jar.update_cookies({"hoiva_session": session.token}, URL(server.url))
    running = [HeadlessTablet(server.url, token) for token in server.tablet_tokens.values()]
    by_client = dict(zip(server.tablet_tokens, running, strict=True))
    heartbeat_ms: list[float] = []
    settings_ms: list[float] = []
    try:
        for tablet in running:
            await tablet.start()
        admin = await http.ws_connect(server.url.replace("http", "ws", 1) + "/ws")
        await admin.send_json({"type": "hello"})
        await admin.send_json({"type": "fleet.watch"})
        # (client, battery value) -> when the admin saw it
        waiting: dict[tuple[str, Any], asyncio.Future[float]] = {}

        async def read() -> None:
            async for message in admin:
                body = json.loads(message.data)
                if body["type"] == "fleet.device":
                    device = body["device"]
                    key = (device["client_id"], device.get("status", {}).get("battery_pct"))
                    arrived = waiting.pop(key, None)
                    if arrived is not None and not arrived.done():
                        arrived.set_result(time.monotonic())

        reader = asyncio.create_task(read())
        await asyncio.sleep(max(2.0, 2 * heartbeat_s))  # every tablet beating steadily
        for index in range(rounds):
            client_id = random.choice(list(by_client))
            tablet = by_client[client_id]
            tablet.device.battery_pct = index  # unique per round (--rounds <= 100)
            arrival = asyncio.get_running_loop().create_future()
            waiting[(client_id, index)] = arrival
            # From the tablet starting its heartbeat (it pings first, for its round trip).
            sent = time.monotonic()
            await tablet.send_heartbeat()
            heartbeat_ms.append((await asyncio.wait_for(arrival, 5) - sent) * 1000)

            client = await services.store.client(client_id)
            assert client is not None
            volume = (client.settings.volume + 7) % 101
            await services.store.update_client_settings(
                client_id, replace(client.settings, volume=volume)
            )
            tablet.settings_changed.clear()
            pushed = time.monotonic()
            await fleet.push_settings(client_id)
            await asyncio.wait_for(tablet.settings_changed.wait(), 5)
            settings_ms.append((tablet.fleet.settings[-1][0] - pushed) * 1000)
        reader.cancel()
        await admin.close()
    finally:
        for tablet in running:
            await tablet.stop()
        await http.close()
        await server.close()
    return {
        "tablets": tablets,
        "heartbeat_s": heartbeat_s,
        "heartbeats_per_s": round(tablets / heartbeat_s, 1),
        "heartbeat_to_admin_ms": _summary(heartbeat_ms),
        "settings_push_to_tablet_ms": _summary(settings_ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tablets", type=int, default=100)
    parser.add_argument("--heartbeat", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=50, choices=range(1, 101), metavar="1-100")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(asyncio.run(measure(args.tablets, args.heartbeat, args.rounds))))


if __name__ == "__main__":
    main()
