"""The network lab's own figures: what the router forwards at what CPU, and what each profile does.

Router capacity: 1200-byte datagrams through a link with no rate cap and 10 ms RTT, at rising
offered rates, downstream; then `fibre` itself carrying its full 50 Mbps down and 20 Mbps up at
once. Profiles: round trips (RTT median, jitter as its standard deviation, loss of round trips),
each direction's loss on a stream under the cap, and each direction's rate under 1.5x overload.
`outage` is measured as the gap in echoes across its blackout, `switch` as echoes from the new
address after the change. The last line printed is one JSON object.

Run as root: .venv/bin/python -m bench.netlab [--quick]
(it moves itself into a fresh loopback-only network namespace, as scripts/test does).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from netlab import PROFILES, Lab, LinkProfile, Participant, measure
from netlab.namespaces import stop_process
from netlab.probe import StreamResult
from netlab.profiles import AddressChange, Blackout

_IN_NAMESPACE = "BENCH_NETLAB_NETNS"
OPEN_LINK = PROFILES["fibre"].with_changes(
    name="open", down_kbps=1_000_000, up_kbps=1_000_000, queue_ms=50
)


async def _cpu_s(participant: Participant) -> float:
    stats = await participant.router_stats()
    return float(stats["cpu_s"])


async def router_capacity(lab: Lab, rates_mbps: list[int], seconds: float) -> list[dict[str, Any]]:
    home = await lab.add_participant("capacity", OPEN_LINK)
    rows = []
    try:
        for mbps in rates_mbps:
            cpu_before = await _cpu_s(home)
            got = await measure.downstream(home, kbps=mbps * 1000, seconds=seconds, size=1200)
            # Per second of traffic: the router idles while the probes start and drain.
            cpu = (await _cpu_s(home) - cpu_before) / seconds
            sent = seconds * mbps * 1e6 / 8 / 1228
            rows.append(
                {
                    "offered_mbps": mbps,
                    "delivered_mbps": round(got.kbps / 1000, 1),
                    "pps": round(got.packets / seconds),
                    "delivered_pct": round(100 * got.packets / sent, 1),
                    "router_cpu_pct": round(100 * cpu, 1),
                }
            )
    finally:
        await lab.remove_participant("capacity")
    return rows


async def fibre_full_load(lab: Lab, seconds: float) -> dict[str, Any]:
    fibre = PROFILES["fibre"]
    home = await lab.add_participant("fibre-load", fibre)
    try:
        cpu_before = await _cpu_s(home)
        down, up = await asyncio.gather(
            measure.downstream(home, kbps=fibre.down_kbps, seconds=seconds),
            measure.upstream(home, kbps=fibre.up_kbps, seconds=seconds),
        )
        cpu = (await _cpu_s(home) - cpu_before) / seconds
    finally:
        await lab.remove_participant("fibre-load")
    return {
        "down_mbps": round(down.kbps / 1000, 1),
        "up_mbps": round(up.kbps / 1000, 1),
        "pps": round((down.packets + up.packets) / seconds),
        "router_cpu_pct": round(100 * cpu, 1),
    }


async def profile_figures(lab: Lab, profile: LinkProfile, seconds: float) -> dict[str, Any]:
    home = await lab.add_participant(profile.name, profile)
    try:
        trips = await measure.round_trips(home, count=round(seconds * 50), interval_s=0.02)
        # Small datagrams under the cap: enough of them to count loss, none lost to the cap.
        down_loss = await measure.downstream(home, _loss_kbps(profile.down_kbps), seconds, 150)
        up_loss = await measure.upstream(home, _loss_kbps(profile.up_kbps), seconds, 150)
        down = await measure.downstream(home, profile.down_kbps * 1.5, seconds)
        up = await measure.upstream(home, profile.up_kbps * 1.5, seconds)
        row: dict[str, Any] = {
            "name": profile.name,
            "rtt_ms": round(trips.median_ms, 1),
            "jitter_ms": round(trips.jitter_ms, 1),
            "rtt_p95_ms": round(_p95(trips.received), 1),
            "rtt_loss_pct": round(trips.loss_pct, 1),
            "reordered": trips.reordered,
            "down_loss_pct": _loss(down_loss, _loss_kbps(profile.down_kbps), seconds, 150),
            "up_loss_pct": _loss(up_loss, _loss_kbps(profile.up_kbps), seconds, 150),
            "down_kbps": round(down.kbps),
            "up_kbps": round(up.kbps),
            "down_delay_max_ms": round(down.delay_ms_max),
        }
        for event in profile.events:
            row.update(await _event_figures(home, event))
    finally:
        await lab.remove_participant(profile.name)
    return row


async def _event_figures(home: Participant, event: Blackout | AddressChange) -> dict[str, Any]:
    echo = await measure.start_echo(home)
    try:
        match event:
            case Blackout(duration_s=duration_s):
                await home.blackout(duration_s)
                interval = 0.05
                trips = await measure.ping(
                    home.address, round((duration_s + 3) / interval), interval
                )
                answered = [i for i, s in enumerate(trips.samples_ms) if s is not None]
                first = answered[0] * interval if answered else float("nan")
                return {"blackout_s": duration_s, "echoes_back_after_s": round(first, 2)}
            case AddressChange():
                old = home.address
                new = await home.change_address()
                to_new = await measure.ping(new, 20, 0.02, wait_s=1.0)
                to_old = await measure.ping(old, 20, 0.02, wait_s=1.0)
                return {
                    "address_change": f"{old} -> {new}",
                    "echoes_via_new_pct": round(100 - to_new.loss_pct, 1),
                    "echoes_via_old_pct": round(100 - to_old.loss_pct, 1),
                }
    finally:
        await stop_process(echo)


def _loss_kbps(cap_kbps: int) -> float:
    # Half the cap, and at most ~1,300 datagrams a second: faster, Python's own sockets drop.
    return min(cap_kbps / 2, 1_500.0)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else 0.0


def _loss(result: StreamResult, kbps: float, seconds: float, size: int) -> float:
    sent = int(seconds * kbps * 1000 / ((size + 28) * 8))
    return max(0.0, round(100 * (1 - result.packets / sent), 1)) if sent else 0.0


async def run(quick: bool) -> dict[str, Any]:
    seconds = 2.0 if quick else 4.0
    async with Lab() as lab:
        capacity = await router_capacity(lab, [20, 50, 100, 200, 400], seconds)
        print(json.dumps({"router_capacity": capacity}), flush=True)
        fibre = await fibre_full_load(lab, seconds)
        print(json.dumps({"fibre_50_down_20_up": fibre}), flush=True)
        profiles = []
        for profile in PROFILES.values():
            row = await profile_figures(lab, profile, seconds)
            print(json.dumps(row), flush=True)
            profiles.append(row)
    return {
        "router": {"capacity": capacity, "fibre_full_load": fibre, "cpus": os.cpu_count()},
        "profiles": profiles,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2 s per measurement, not 4")
    args = parser.parse_args()
    if os.environ.get(_IN_NAMESPACE) != "1":
        os.execvp(
            "unshare",
            ["unshare", "--net", "--", "env", f"{_IN_NAMESPACE}=1", "sh", "-c",
             'ip link set lo up && exec "$0" "$@"', sys.executable, "-m", "bench.netlab",
             *sys.argv[1:]],
        )  # fmt: skip
    print(json.dumps(asyncio.run(run(args.quick))))


if __name__ == "__main__":
    main()
