"""Whether a client is in a call or ringing, answered from this instance's calls and rooms.

Nothing writes presence: the hub asks here whenever a client's status may have changed, and
the answer is read from the state the call and room services already keep.
"""

from __future__ import annotations

from typing import Literal, Protocol

CallFlag = Literal["ringing", "in_call"]


class FlagSource(Protocol):
    """A service whose state can make a client busy or ringing."""

    def presence_flag(self, client_id: str) -> CallFlag | None: ...


class CallPresence:
    """The one place that says whether a client is in a call or being rung on this instance."""

    def __init__(self) -> None:
        self._sources: tuple[FlagSource, ...] = ()

    def read_from(self, *sources: FlagSource | None) -> None:
        """Name the services to ask (the calls and the rooms, built after the hub)."""
        self._sources = tuple(s for s in sources if s is not None)

    def flag_of(self, client_id: str) -> CallFlag | None:
        """In a call wins over ringing; None: free as far as this instance knows."""
        flags = {source.presence_flag(client_id) for source in self._sources}
        if "in_call" in flags:
            return "in_call"
        if "ringing" in flags:
            return "ringing"
        return None
