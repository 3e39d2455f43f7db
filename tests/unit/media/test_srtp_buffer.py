"""SrtpBuffer protects and unprotects exactly as pylibsrtp's Session does, in its own buffer."""

from __future__ import annotations

import os
import random

import pylibsrtp
import pytest
from aiortc.rtp import RtpPacket
from pylibsrtp import Policy, Session

from media.srtp_buffer import MAX_PACKET, SrtpBuffer

KEY = bytes(range(30))  # SRTP_AES128_CM_SHA1_80: 16-byte key + 14-byte salt


def _session(direction: int) -> Session:
    return Session(Policy(key=KEY, ssrc_type=direction))


def _packet(rng: random.Random, seq: int) -> bytes:
    return RtpPacket(
        payload_type=96,
        marker=rng.randint(0, 1),
        sequence_number=seq,
        timestamp=rng.getrandbits(32),
        ssrc=0x1234ABCD,
        payload=rng.randbytes(rng.randint(1, 1200)),
    ).serialize()


@pytest.mark.parametrize("seed", range(3))
def test_same_bytes_as_pylibsrtp_both_ways(seed: int) -> None:
    rng = random.Random(seed)
    theirs = _session(Policy.SSRC_ANY_OUTBOUND)
    ours = SrtpBuffer(_session(Policy.SSRC_ANY_OUTBOUND))
    receiver = SrtpBuffer(_session(Policy.SSRC_ANY_INBOUND))
    for seq in range(1000, 1300):
        plain = _packet(rng, seq)
        expected = theirs.protect(plain)
        ours.view[: len(plain)] = plain
        protected = bytes(ours.protect(len(plain)))
        assert protected == expected
        assert bytes(receiver.unprotect(protected)) == plain


def test_a_tampered_or_replayed_packet_is_refused() -> None:
    sender = SrtpBuffer(_session(Policy.SSRC_ANY_OUTBOUND))
    receiver = SrtpBuffer(_session(Policy.SSRC_ANY_INBOUND))
    plain = _packet(random.Random(1), 7)
    sender.view[: len(plain)] = plain
    protected = bytes(sender.protect(len(plain)))
    tampered = bytearray(protected)
    tampered[20] ^= 1
    with pytest.raises(pylibsrtp.Error):
        receiver.unprotect(bytes(tampered))
    assert bytes(receiver.unprotect(protected)) == plain
    with pytest.raises(pylibsrtp.Error):
        receiver.unprotect(protected)


def test_a_datagram_larger_than_the_buffer_is_refused() -> None:
    receiver = SrtpBuffer(_session(Policy.SSRC_ANY_INBOUND))
    with pytest.raises(ValueError):
        receiver.unprotect(os.urandom(MAX_PACKET + 1))
