"""How long a call goes without media when the instance hosting it dies, and whether any
call or record is left stuck, with real instance processes on Redis and PostgreSQL.

Three kinds of rounds, each at least 5 times, on two instances (a and b) with the shipped
bus defaults (heartbeat 1 s, instance TTL 4 s); every call is hosted on a, the nurse's
socket on a, the tablet's on b:
- kill:     kill -9 of a (brought back, untimed, before the next round);
- restart:  kill -9 of a and a back under the same id at once (compose.yaml's restart);
- second:   a restarted round, then within a minute a new call on a's new life and the
            same again (both adoptions are timed).
adopt_s runs from the kill until both ends decode video again on their new peer
connections. A stuck call is a round whose media did not come back within 30 s, or whose
record is not one completed call with an interruption; open_rows counts records left
without an end.

    .venv/bin/python -m bench.failover [--rounds 5]

Media runs on loopback only: the bench re-runs itself in a loopback-only network namespace
(unshare -n, as root, like scripts/test) and starts its own redis-server and PostgreSQL
there. The last line printed is one JSON object:
{"runs": N, "adopt_s": {"median": .., "max": ..}, "stuck_calls": 0, "open_rows": 0}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from care_sessions.records import EndReason
from media.ice import use_host_addresses
from tests.pg import throwaway_postgres
from tests.scaleout.conftest import Cluster, Instance, postgres_cluster
from tests.scaleout.failover_kit import (
    call_across,
    kill_and_restart,
    media_back,
    open_rows,
)

SHIPPED_BUS = {"bus__heartbeat_s": "1.0", "bus__instance_ttl_s": "4.0"}
STUCK_AFTER_S = 30.0
FRAMES = 3  # "video again": a few frames decoded on the new peer connection


@dataclass(frozen=True)
class Adoption:
    kind: str
    adopt_s: float | None  # None: the call was stuck
    one_call: bool  # the record: one completed call with an interruption


async def _adopt_once(
    cluster: Cluster, kind: str, *, restart: bool, nurse: str = "nurse1"
) -> Adoption:
    """A call hosted on a, then kill -9 of a (and a back at once with `restart`)."""
    host = cluster.instances["a"]
    call = await call_across(cluster, nurse_at="a", tablet_at="b", nurse=nurse)
    restarting: asyncio.Task[None] | None = None
    try:
        killed_at = time.monotonic()
        if restart:
            restarting = asyncio.create_task(kill_and_restart(host))
        else:
            host.kill9()
        try:
            adopt_s: float | None = await media_back(
                call, killed_at, restarts=1, timeout=STUCK_AFTER_S, frames=FRAMES
            )
        except TimeoutError:
            adopt_s = None
        if restarting is not None:
            await restarting
        await call.nurse.hang_up()
        try:
            await asyncio.wait_for(call.tablet.call_over.wait(), 10)
        except TimeoutError:
            adopt_s = None
    finally:
        await call.stop()
    record = await cluster.store.session(call.call_id)
    one_call = (
        record is not None
        and record.end_reason is EndReason.COMPLETED
        and record.interruptions >= 1
        and [s.id for s in await cluster.store.sessions_for_client(call.client_id)]
        == [call.call_id]
    )
    return Adoption(kind, adopt_s, one_call)


async def _back(instance: Instance) -> None:
    await instance.wait_exit(10)
    await instance.start()


async def run(rounds: int) -> dict[str, Any]:
    use_host_addresses(["127.0.0.1"])
    done: list[Adoption] = []
    with throwaway_postgres() as postgres:
        tmp = Path(tempfile.mkdtemp(prefix="hoiva-failover-"))
        async with postgres_cluster(tmp, postgres) as cluster:
            await cluster.add_instance("a", **SHIPPED_BUS)
            await cluster.add_instance("b", **SHIPPED_BUS)
            for _ in range(rounds):
                done.append(await _adopt_once(cluster, "kill", restart=False))
                await _back(cluster.instances["a"])
                print(done[-1], flush=True)
            for _ in range(rounds):
                done.append(await _adopt_once(cluster, "restart", restart=True))
                print(done[-1], flush=True)
            for _ in range(rounds):
                done.append(await _adopt_once(cluster, "second.first", restart=True))
                done.append(await _adopt_once(cluster, "second", restart=True, nurse="nurse2"))
                print(done[-2], done[-1], flush=True)
            left_open = len(await open_rows(cluster.store))
    times = [d.adopt_s for d in done if d.adopt_s is not None]
    for kind in ("kill", "restart", "second.first", "second"):
        of_kind = [d.adopt_s for d in done if d.kind == kind and d.adopt_s is not None]
        if of_kind:
            print(
                f"{kind}: n={len(of_kind)} median={statistics.median(of_kind):.2f} s "
                f"max={max(of_kind):.2f} s",
                flush=True,
            )
    return {
        "runs": len(done),
        "adopt_s": {
            "median": round(statistics.median(times), 2) if times else None,
            "max": round(max(times), 2) if times else None,
        },
        "stuck_calls": sum(1 for d in done if d.adopt_s is None or not d.one_call),
        "open_rows": left_open,
    }


def _in_loopback_namespace() -> None:
    """Re-run this module in a network namespace that holds only loopback (as scripts/test)."""
    if os.environ.get("LOOPBACK_NETNS") == "1":
        return
    command = [
        "unshare", "-n", "--", "env", "LOOPBACK_NETNS=1",
        "sh", "-c", 'ip link set lo up && exec "$0" "$@"',
        sys.executable, "-m", "bench.failover", *sys.argv[1:],
    ]  # fmt: skip
    os.execvp("unshare", command)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each kind (>= 5)")
    args = parser.parse_args()
    _in_loopback_namespace()
    result = asyncio.run(run(max(args.rounds, 1)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
