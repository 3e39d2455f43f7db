"""The kernel's half of a link profile: a rate cap with a bounded queue, and random loss.

Each direction is shaped on the egress of the device that sends it: downstream on the server
side's tun, upstream on the participant's. tbf's `latency` bounds how long a packet may wait in
the bottleneck's buffer: a full buffer adds that much delay and then drops the tail, as a 4G
modem or DSL line does, instead of queueing without end. Loss is an nftables rule on the
receiving namespace's prerouting hook, so a dropped packet was sent (the sender sees no error)
and never arrives, and forwarded packets lose their share too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from netlab.errors import NetlabError

Runner = Callable[..., Awaitable[str]]

MTU_BYTES = 1_514
# The bucket holds 4 ms at the line's rate, and never less than two full packets.
BURST_S = 0.004


def tbf_command(device: str, kbps: int, queue_ms: int) -> list[str]:
    """`tc` arguments for a rate cap of `kbps` on `device`'s egress."""
    if kbps <= 0:
        raise NetlabError(f"rate must be positive, not {kbps} kbps")
    burst = max(2 * MTU_BYTES, round(kbps * 1000 / 8 * BURST_S))
    return [
        "tc",
        "qdisc",
        "replace",
        "dev",
        device,
        "root",
        "tbf",
        "rate",
        f"{kbps}kbit",
        "burst",
        str(burst),
        "latency",
        f"{queue_ms}ms",
    ]


def loss_ruleset(table: str, device: str, loss_pct: float) -> str:
    """An nft script that (re)defines `table`: drop `loss_pct` % of packets arriving on `device`."""
    if not 0 <= loss_pct <= 100:
        raise NetlabError(f"loss must be 0-100 %, not {loss_pct}")
    basis_points = round(loss_pct * 100)
    rule = (
        f'        iifname "{device}" numgen random mod 10000 < {basis_points} drop\n'
        if basis_points
        else ""
    )
    # Declaring, deleting and redefining the table in one script replaces it atomically.
    return (
        f"table inet {table}\n"
        f"delete table inet {table}\n"
        f"table inet {table} {{\n"
        f"    chain loss {{\n"
        f"        type filter hook prerouting priority -150; policy accept;\n"
        f"{rule}"
        f"    }}\n"
        f"}}\n"
    )


def delete_table(table: str) -> str:
    """An nft script that removes `table` if it is there."""
    return f"table inet {table}\ndelete table inet {table}\n"


async def shape(
    run: Runner, device: str, kbps: int, queue_ms: int, table: str, loss: float
) -> None:
    """Cap what leaves `device` and drop a share of what arrives on it, with `run`'s commands."""
    await run(tbf_command(device, kbps, queue_ms))
    await run(["nft", "-f", "-"], stdin=loss_ruleset(table, device, loss))
