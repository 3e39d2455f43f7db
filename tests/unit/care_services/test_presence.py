"""Presence is read from the calls and rooms, never written: care_services/presence.py."""

from __future__ import annotations

from care_services.presence import CallFlag, CallPresence


class _Source:
    """A service whose state says something about some clients."""

    def __init__(self, flags: dict[str, CallFlag]) -> None:
        self.flags = flags

    def presence_flag(self, client_id: str) -> CallFlag | None:
        return self.flags.get(client_id)


def test_a_client_nobody_holds_is_free() -> None:
    """Without sources (tools that build the hub alone) every client is free."""
    assert CallPresence().flag_of("aino") is None


def test_in_a_call_wins_over_ringing() -> None:
    """A client at a meal table whose tablet also rings shows as in a call."""
    presence = CallPresence()
    calls, rooms = _Source({"aino": "ringing"}), _Source({"aino": "in_call"})
    presence.read_from(calls, rooms)
    assert presence.flag_of("aino") == "in_call"


def test_the_answer_follows_the_services_state() -> None:
    """Nothing is cached: when the call ends the next question gets the new answer."""
    calls = _Source({"aino": "ringing"})
    presence = CallPresence()
    presence.read_from(calls, None)
    assert presence.flag_of("aino") == "ringing"
    calls.flags["aino"] = "in_call"
    assert presence.flag_of("aino") == "in_call"
    del calls.flags["aino"]
    assert presence.flag_of("aino") is None
