"""aiortc's clock readings (aiortc.clock) without building a datetime per packet.

The forwarding path reads the wall clock once per received packet, for the bandwidth
estimator's arrival time and the abs-send-time and sender-report stamps; aiortc's helpers
go through `datetime.now()` and timedelta arithmetic, which cost more than the rest of a
packet's bookkeeping. The same values from one integer nanosecond reading:
"""

from __future__ import annotations

import time

# Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01).
_NTP_UNIX_OFFSET_NS = 2_208_988_800 * 1_000_000_000


def current_ms() -> int:
    """Milliseconds since the NTP epoch, as `aiortc.clock.current_ms()`."""
    return (time.time_ns() + _NTP_UNIX_OFFSET_NS) // 1_000_000


def current_ntp_time() -> int:
    """64-bit NTP timestamp (32.32 fixed point), as `aiortc.clock.current_ntp_time()`."""
    ns = time.time_ns() + _NTP_UNIX_OFFSET_NS
    seconds, fraction_ns = divmod(ns, 1_000_000_000)
    return (seconds << 32) | ((fraction_ns << 32) // 1_000_000_000)
