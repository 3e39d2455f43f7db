"""Signaling latency of well-behaved clients, with and without a flooding client.

20 calm tablets each send a ping every 100 ms and time the pong (in this process, beside
the server). A separate process floods: it sends 1,000 messages/s on a socket, is cut off by
the per-connection rate limit (close 1008), reconnects at once and floods again - what an
attacker or a broken client would do. Prints one JSON object as its last line.
Run: .venv/bin/python -m bench.abuse [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import time

import aiohttp

from bench.harness import start_bench_server

CALM_CLIENTS = 20
PING_INTERVAL_S = 0.1


async def flood(url: str, seconds: float) -> tuple[int, int]:
    """Send 1,000 messages/s; when the server cuts the socket, reconnect and go on."""
    deadline = time.monotonic() + seconds
    sent = connections = 0
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.ws_connect(url) as ws:
                    connections += 1
                    drain = asyncio.create_task(_drain(ws))
                    while not drain.done() and time.monotonic() < deadline:
                        for _ in range(10):
                            await ws.send_str('{"type":"ping"}')
                            sent += 1
                        await asyncio.sleep(0.01)
                    drain.cancel()
            except (aiohttp.ClientError, ConnectionError):
                await asyncio.sleep(0.01)
    return sent, connections


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for _ in ws:
        pass


async def _calm_client(url: str, token: str, seconds: float, samples: list[float]) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.send_str(json.dumps({"type": "hello", "token": token}))
        await ws.receive()  # welcome
        deadline = time.monotonic() + seconds
        sequence = 0
        while time.monotonic() < deadline:
            sequence += 1
            started = time.perf_counter()
            await ws.send_str(json.dumps({"type": "ping", "ref": str(sequence)}))
            while True:
                message = json.loads((await ws.receive(timeout=5)).data)
                if message.get("ref") == str(sequence):
                    break
            samples.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(PING_INTERVAL_S)


async def _phase(url: str, tokens: list[str], seconds: float) -> list[float]:
    samples: list[float] = []
    await asyncio.gather(*(_calm_client(url, t, seconds, samples) for t in tokens))
    return samples


def _p99(samples: list[float]) -> float:
    return round(statistics.quantiles(samples, n=100)[98], 3)


async def measure(seconds: float) -> dict[str, object]:
    server = await start_bench_server(clients=CALM_CLIENTS)
    url = server.url.replace("http", "ws", 1) + "/ws"
    tokens = list(server.tablet_tokens.values())
    try:
        baseline = await _phase(url, tokens, seconds)
        flooder = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.abuse",
            "--flood",
            url,
            "--seconds",
            str(seconds + 1),
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            await asyncio.sleep(0.5)
            flooded = await _phase(url, tokens, seconds)
            raw, _ = await asyncio.wait_for(flooder.communicate(), seconds + 20)
            out = raw.decode()
        finally:
            if flooder.returncode is None:
                flooder.kill()
                await flooder.wait()
        sent, reconnects = (int(x) for x in out.split())
    finally:
        await server.close()
    return {
        "calm_clients": CALM_CLIENTS,
        "flood_messages_sent": sent,
        "flood_connections": reconnects,
        "p50_ms_baseline": round(statistics.median(baseline), 3),
        "p50_ms_under_flood": round(statistics.median(flooded), 3),
        "p99_ms_baseline": _p99(baseline),
        "p99_ms_under_flood": _p99(flooded),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--flood", metavar="WS_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.flood:
        print(*asyncio.run(flood(args.flood, args.seconds)))
        return
    result = asyncio.run(measure(args.seconds))
    result["rise_pct"] = round(
        100 * (result["p99_ms_under_flood"] / result["p99_ms_baseline"] - 1),
        1,  # type: ignore[operator]
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
