"""Sequence-number and timestamp mapping from a publisher's stream into a subscriber's stream."""

from __future__ import annotations

_SEQ_MOD = 1 << 16
_TS_MOD = 1 << 32
_HALF_SEQ = 1 << 15
# Packets further behind the newest one than this are dropped: they are far older than any
# retransmission a receiver still waits for, and the bound keeps the "before this epoch" test
# valid across sequence-number wrap-around.
_REORDER_WINDOW = 1 << 14


def _seq_delta(a: int, b: int) -> int:
    """Signed distance a - b in 16-bit sequence space."""
    delta = (a - b) % _SEQ_MOD
    return delta - _SEQ_MOD if delta >= _HALF_SEQ else delta


class StreamRewriter:
    """Maps incoming (seq, ts) into one continuous outgoing stream, one "epoch" per source.

    Within an epoch the mapping is a fixed offset, so a gap upstream stays a gap downstream and
    an upstream retransmission lands exactly in the hole the subscriber NACKed.  A new epoch
    starts when the source changes (another publisher in this slot, an SSRC change, an unmute):
    the first packet of the epoch gets the next sequence number and a timestamp advanced by the
    wall-clock time since the last packet, so the subscriber's decoder sees one stream.
    """

    def __init__(self, clock_rate: int, initial_seq: int, initial_ts: int) -> None:
        self._clock_rate = clock_rate
        self._initial_seq = initial_seq % _SEQ_MOD
        self._initial_ts = initial_ts % _TS_MOD
        self._active = False
        self._ssrc: int | None = None
        self._seq_offset = 0
        self._ts_offset = 0
        self._floor_in_seq = 0
        self._highest_in_seq = 0
        self._last_out_seq: int | None = None
        self._last_out_ts = 0
        self._last_out_time = 0.0

    @property
    def active(self) -> bool:
        return self._active

    @property
    def last_timestamp(self) -> int:
        """Outgoing timestamp of the newest packet mapped so far."""
        return self._last_out_ts

    @property
    def ssrc(self) -> int | None:
        """SSRC of the incoming stream of the current epoch."""
        return self._ssrc

    def end_epoch(self) -> None:
        """Forget the current source; the next `start` continues after the last output."""
        self._active = False
        self._ssrc = None

    def start(self, in_seq: int, in_ts: int, ssrc: int, now: float) -> None:
        """Begin an epoch whose first packet is (in_seq, in_ts)."""
        if self._last_out_seq is None:
            out_seq = self._initial_seq
            out_ts = self._initial_ts
        else:
            out_seq = (self._last_out_seq + 1) % _SEQ_MOD
            elapsed = max(1, round((now - self._last_out_time) * self._clock_rate))
            out_ts = (self._last_out_ts + elapsed) % _TS_MOD
        self._seq_offset = (out_seq - in_seq) % _SEQ_MOD
        self._ts_offset = (out_ts - in_ts) % _TS_MOD
        self._floor_in_seq = in_seq
        self._highest_in_seq = in_seq
        self._ssrc = ssrc
        self._active = True

    def map(self, in_seq: int, in_ts: int, now: float) -> tuple[int, int] | None:
        """Outgoing (seq, ts) for an incoming packet of the current epoch, None to drop it."""
        # `_seq_delta` inlined (this runs for every packet copy): in 16-bit sequence space,
        # a - b is negative when (a - b) % 2**16 >= 2**15 and positive when it lies in
        # (0, 2**15).
        if not self._active:
            return None
        from_floor = (in_seq - self._floor_in_seq) % _SEQ_MOD
        if from_floor >= _HALF_SEQ:
            return None
        out_seq = (in_seq + self._seq_offset) % _SEQ_MOD
        out_ts = (in_ts + self._ts_offset) % _TS_MOD
        if 0 < (in_seq - self._highest_in_seq) % _SEQ_MOD < _HALF_SEQ:
            self._highest_in_seq = in_seq
            if from_floor > _REORDER_WINDOW:
                self._floor_in_seq = (in_seq - _REORDER_WINDOW) % _SEQ_MOD
        last_out_seq = self._last_out_seq
        if last_out_seq is None or 0 < (out_seq - last_out_seq) % _SEQ_MOD < _HALF_SEQ:
            self._last_out_seq = out_seq
            self._last_out_ts = out_ts
            self._last_out_time = now
        return out_seq, out_ts
