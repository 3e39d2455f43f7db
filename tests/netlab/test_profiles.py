"""The profile table, the delay model and the kernel rules, without namespaces."""

from __future__ import annotations

import random
import statistics
from pathlib import Path

import pytest

from netlab.delay import DelayLine, DirectionSpec
from netlab.errors import UnknownProfileError
from netlab.profiles import PROFILES, AddressChange, Blackout, get_profile, markdown_table
from netlab.shaping import loss_ruleset, tbf_command

DOCS = Path(__file__).resolve().parents[2] / "docs" / "network-lab.md"


def test_docs_show_the_table_the_code_applies() -> None:
    """docs/network-lab.md and netlab/profiles.py describe the same links."""
    assert markdown_table() in DOCS.read_text()


@pytest.mark.parametrize(
    ("name", "rtt", "jitter", "loss", "down", "up"),
    [
        ("fibre", 10, 0, 0, 50_000, 20_000),
        ("dsl", 30, 5, 0.5, 4_000, 1_000),
        ("weak-4g", 120, 30, 3, 1_200, 600),
        ("bad", 300, 60, 8, 350, 350),
    ],
)
def test_profiles_are_issue_14s_homes(
    name: str, rtt: float, jitter: float, loss: float, down: int, up: int
) -> None:
    """The named links keep the figures issue 14 defines."""
    p = PROFILES[name]
    assert (p.rtt_ms, p.jitter_ms, p.loss_pct, p.down_kbps, p.up_kbps) == (
        rtt,
        jitter,
        loss,
        down,
        up,
    )
    assert not p.reorder


def test_outage_and_switch_are_dsl_with_an_event() -> None:
    """`outage` is 10 s of nothing on dsl; `switch` is an address change on dsl."""
    dsl = PROFILES["dsl"]
    outage, switch = PROFILES["outage"], PROFILES["switch"]
    assert outage.with_changes(name="dsl", events=()) == dsl
    assert switch.with_changes(name="dsl", events=()) == dsl
    assert [type(e) for e in outage.events] == [Blackout]
    assert outage.events[0].duration_s == 10  # type: ignore[union-attr]
    assert [type(e) for e in switch.events] == [AddressChange]


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(UnknownProfileError, match="weak-4g"):
        get_profile("carrier-pigeon")


def _deliveries(spec: DirectionSpec, spacing_s: float, count: int) -> tuple[list[float], int]:
    line = DelayLine(spec, random.Random(7))
    delays, previous, overtakes = [], 0.0, 0
    for i in range(count):
        now = i * spacing_s
        at = line.deliver_at(now)
        overtakes += at < previous
        previous = max(previous, at)
        delays.append(at - now)
    return delays, overtakes


def test_jitter_keeps_order_and_its_spread() -> None:
    """Without `reorder`, no packet overtakes another, and the delay still varies as asked."""
    delays, overtakes = _deliveries(DirectionSpec(0.06, 0.021), 0.001, 20_000)
    assert overtakes == 0
    assert 0.055 <= statistics.mean(delays) <= 0.07
    assert 0.015 <= statistics.pstdev(delays) <= 0.027


def test_jitter_reorders_only_when_asked() -> None:
    _, overtakes = _deliveries(DirectionSpec(0.06, 0.021, reorder=True), 0.001, 5_000)
    assert overtakes > 100


def test_no_delay_is_ever_negative() -> None:
    delays, _ = _deliveries(DirectionSpec(0.005, 0.05, reorder=True), 0.001, 5_000)
    assert min(delays) >= 0


def test_loss_rule_uses_basis_points() -> None:
    """0.5 % loss is 50 in 10,000; no loss is no rule at all."""
    assert "numgen random mod 10000 < 50 drop" in loss_ruleset("t", "lab0", 0.5)
    assert "numgen" not in loss_ruleset("t", "lab0", 0)


def test_rate_cap_has_a_bounded_queue() -> None:
    """tbf gets the profile's queue as its latency, and a bucket of at least two packets."""
    argv = tbf_command("lab0", 600, 200)
    assert argv[argv.index("rate") + 1] == "600kbit"
    assert argv[argv.index("latency") + 1] == "200ms"
    assert int(argv[argv.index("burst") + 1]) >= 2 * 1500
