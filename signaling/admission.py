"""Who may open a signaling socket: per-address caps and a penalty box for flooders."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

MAX_PENALISED = 10_000


class Admission:
    """Counts open sockets per address and turns away addresses that flooded recently.

    Closing a flooding socket alone is not enough: a flooder reconnects at once, and every
    upgrade costs the server more than a refusal before it. So an address whose socket was
    closed for flooding is refused (HTTP 429, before the upgrade) for a cool-down period.
    """

    def __init__(
        self,
        max_per_address: int,
        penalty_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_per_address = max_per_address
        self._penalty_s = penalty_s
        self._clock = clock
        self._open: Counter[str] = Counter()
        self._penalised: dict[str, float] = {}

    def refusal(self, address: str) -> str | None:
        """Why this address may not open a socket now, or None if it may."""
        until = self._penalised.get(address)
        if until is not None:
            if self._clock() < until:
                return "this address flooded the server; try again later"
            del self._penalised[address]
        if self._open[address] >= self._max_per_address:
            return "too many connections from this address"
        return None

    def opened(self, address: str) -> None:
        self._open[address] += 1

    def closed(self, address: str) -> None:
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]

    def penalise(self, address: str) -> None:
        if len(self._penalised) >= MAX_PENALISED:
            # Bounded memory under an address-rotating attack; the oldest entry goes first.
            del self._penalised[next(iter(self._penalised))]
        self._penalised[address] = self._clock() + self._penalty_s
