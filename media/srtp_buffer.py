"""SRTP in place: libsrtp's protect and unprotect on a buffer the packet is built in.

pylibsrtp's `Session.protect(data)` copies `data` into its buffer, allocates a length cell,
calls libsrtp and copies the result out as new bytes: two copies and an allocation around a
call that itself takes about a microsecond, once per forwarded copy on the media server
(bench/sfu.py). `SrtpBuffer` keeps one buffer and one length cell: the forwarding path writes
the RTP header and payload straight into `view`, protects them there and hands `sendto` a
view of the result; a received datagram is unprotected in place and parsed from the view.
The session (its `srtp_t`, keys and replay state) stays pylibsrtp's; only the call is ours.
Reads pylibsrtp 1.0's `Session._srtp` and its cffi binding, through media/aiortc_internals.py.
"""

from __future__ import annotations

from pylibsrtp import Error, Session

from media import aiortc_internals
from media.aiortc_internals import srtp_ffi as ffi
from media.aiortc_internals import srtp_lib as lib

# libsrtp appends at most this much (authentication tag and MKI), as pylibsrtp assumes.
MAX_TRAILER = 16 + 128
# The largest RTP packet the buffer takes: a UDP datagram on an Ethernet path, with room left
# for the trailer.  Anything larger goes through pylibsrtp's own copy.
MAX_PACKET = 1500
_OK = 0


class SrtpBuffer:
    """One SRTP session's packets, protected or unprotected inside `view`."""

    __slots__ = ("_cdata", "_length", "_session", "_srtp", "view")

    def __init__(self, session: Session) -> None:
        # Holding the session keeps its srtp_t alive (pylibsrtp frees it when collected).
        self._session = session
        self._srtp = aiortc_internals.srtp_handle(session)
        self._cdata = ffi.new("char[]", MAX_PACKET + MAX_TRAILER)
        self._length = ffi.new("int *")
        self.view = memoryview(ffi.buffer(self._cdata))

    @property
    def session(self) -> Session:
        return self._session

    def protect(self, length: int) -> memoryview:
        """Protect the RTP packet in `view[:length]`; the SRTP packet, valid until the next call."""
        self._length[0] = length
        status = lib.srtp_protect(self._srtp, self._cdata, self._length)
        if status != _OK:
            raise Error(f"srtp_protect failed with status {status}")
        return self.view[: self._length[0]]

    def unprotect(self, data: bytes) -> memoryview:
        """The RTP packet inside SRTP `data`, valid until the next call; pylibsrtp.Error if bad."""
        size = len(data)
        if size > MAX_PACKET:
            raise ValueError("SRTP packet is too long")
        self.view[:size] = data
        self._length[0] = size
        status = lib.srtp_unprotect(self._srtp, self._cdata, self._length)
        if status != _OK:
            raise Error(f"srtp_unprotect failed with status {status}")
        return self.view[: self._length[0]]
