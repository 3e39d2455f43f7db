"""Admission of signaling sockets: per-address caps and the flood penalty box."""

from __future__ import annotations

from signaling.admission import Admission


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_cap_per_address_counts_open_sockets() -> None:
    admission = Admission(max_per_address=2, penalty_s=10, clock=FakeClock())
    admission.opened("10.0.0.1")
    admission.opened("10.0.0.1")
    assert admission.refusal("10.0.0.1") == "too many connections from this address"
    assert admission.refusal("10.0.0.2") is None
    admission.closed("10.0.0.1")
    assert admission.refusal("10.0.0.1") is None


def test_flooder_is_refused_until_the_penalty_ends() -> None:
    clock = FakeClock()
    admission = Admission(max_per_address=50, penalty_s=10, clock=clock)
    admission.penalise("10.0.0.9")
    assert admission.refusal("10.0.0.9") is not None
    assert admission.refusal("10.0.0.8") is None
    clock.now += 10.5
    assert admission.refusal("10.0.0.9") is None
