"""Named link profiles: what a home's network does to a call, as one table of data.

A profile is what a participant's link adds between it and the server: round-trip time and its
jitter (the user-space router), random loss per direction (nftables) and a rate cap with a
bounded queue per direction (tbf). `outage` and `switch` are `dsl` plus a timed event.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from netlab.errors import UnknownProfileError


@dataclass(frozen=True)
class Blackout:
    """Nothing gets through, either way, for `duration_s`."""

    at_s: float
    duration_s: float
    kind: Literal["blackout"] = "blackout"


@dataclass(frozen=True)
class AddressChange:
    """The participant's address changes (a tablet moving from Wi-Fi to 4G)."""

    at_s: float
    kind: Literal["address_change"] = "address_change"


LinkEvent = Blackout | AddressChange


@dataclass(frozen=True)
class LinkProfile:
    """One home link, as the participant sees it (down = server to participant)."""

    name: str
    rtt_ms: float
    # Standard deviation of the round-trip time; each direction gets jitter / sqrt(2).
    jitter_ms: float
    # Random loss, applied independently in each direction.
    loss_pct: float
    down_kbps: int
    up_kbps: int
    # tbf's latency: the longest a packet waits in a full bottleneck buffer before tail drop.
    queue_ms: int
    # True lets jitter reorder packets; real links (4G's RLC, DSL, fibre) deliver in order.
    reorder: bool = False
    # Timed events, in seconds from when the profile's timeline is played.
    events: tuple[LinkEvent, ...] = ()

    def with_changes(self, **changes: object) -> LinkProfile:
        """A copy with some fields replaced (a test's own variant of a named profile)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


_DSL = LinkProfile(
    name="dsl",
    rtt_ms=30,
    jitter_ms=5,
    loss_pct=0.5,
    down_kbps=4_000,
    up_kbps=1_000,
    queue_ms=150,
)

PROFILE_TABLE: tuple[LinkProfile, ...] = (
    LinkProfile(
        name="fibre",
        rtt_ms=10,
        jitter_ms=0,
        loss_pct=0,
        down_kbps=50_000,
        up_kbps=20_000,
        queue_ms=30,
    ),
    _DSL,
    LinkProfile(
        name="weak-4g",
        rtt_ms=120,
        jitter_ms=30,
        loss_pct=3,
        down_kbps=1_200,
        up_kbps=600,
        queue_ms=200,
    ),
    LinkProfile(
        name="bad",
        rtt_ms=300,
        jitter_ms=60,
        loss_pct=8,
        down_kbps=350,
        up_kbps=350,
        queue_ms=300,
    ),
    _DSL.with_changes(
        name="outage",
        events=(Blackout(at_s=20, duration_s=10),),
    ),
    _DSL.with_changes(
        name="switch",
        events=(AddressChange(at_s=20),),
    ),
)

PROFILES: dict[str, LinkProfile] = {profile.name: profile for profile in PROFILE_TABLE}


def get_profile(profile: str | LinkProfile) -> LinkProfile:
    """The profile itself, or the named one from the table."""
    if isinstance(profile, LinkProfile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        known = ", ".join(PROFILES)
        raise UnknownProfileError(f"no link profile {profile!r} (known: {known})") from None


def _rate(kbps: int) -> str:
    return f"{kbps / 1000:g} Mbps" if kbps >= 1000 else f"{kbps} kbps"


def _event(event: LinkEvent) -> str:
    match event:
        case Blackout(at_s=at_s, duration_s=duration_s):
            return f"{duration_s:g} s blackout at {at_s:g} s"
        case AddressChange(at_s=at_s):
            return f"address change at {at_s:g} s"


def markdown_table() -> str:
    """The profile table as docs/network-lab.md shows it (a test keeps the two equal)."""
    lines = [
        "| profile | RTT | jitter | loss | down / up | queue | events |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in PROFILE_TABLE:
        events = "; ".join(_event(e) for e in p.events) or "-"
        lines.append(
            f"| `{p.name}` | {p.rtt_ms:g} ms | {p.jitter_ms:g} ms | {p.loss_pct:g} % "
            f"| {_rate(p.down_kbps)} / {_rate(p.up_kbps)} | {p.queue_ms} ms | {events} |"
        )
    return "\n".join(lines)
