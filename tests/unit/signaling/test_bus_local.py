"""The in-process bus is the whole single-node behaviour: what it does where nobody else is."""

from __future__ import annotations

import pytest

from signaling.bus import Bus, BusUnavailable, Ownership
from signaling.bus_local import LocalBus


class _Sweep:
    def __init__(self) -> None:
        self.started = False

    def start(self) -> None:
        self.started = True


async def test_one_process_neither_sweeps_nor_drains() -> None:
    """Its calls end with the process, and nobody could take them over: the runtime's drain
    and sweep are the bus's to decide, and the local bus declines both (so SIGTERM does not
    wait out a drain timeout, and the open records of an earlier run are left to start-up)."""
    bus: Ownership = LocalBus("solo")
    sweep, drained = _Sweep(), []

    async def hand_over() -> None:
        drained.append(True)

    bus.succession.start_sweep(sweep)
    await bus.succession.drain(hand_over)
    assert not sweep.started and not drained


async def test_a_call_lives_only_here() -> None:
    """Rooms and engaged people are this process's; no snapshot is kept for a survivor, so a
    caller that asks "is this person in a call elsewhere?" hears no."""
    bus: Bus = LocalBus("solo")
    await bus.save_call("c1", b"{}")
    assert await bus.engage(["nurse", "client"], "c1") == []
    assert await bus.engage(["nurse2", "client"], "c2") == ["client"]
    assert await bus.claim_room("c1") and await bus.room_owner("c1") == "solo"
    assert await bus.load_call("c1") is None
    assert await bus.calls_of("solo") == []
    with pytest.raises(BusUnavailable):
        await bus.request("other", "call.answer", {}, 1.0)
    await bus.release(["nurse", "client"], "c1")
    await bus.release_room("c1")
    assert await bus.engaged_call("client") is None and await bus.room_owner("c1") is None
