"""What one instance knows of the others: where their sockets are and their call flags.

RedisBus keeps this mirror current from the events every change publishes, and rebuilds it
from Redis after an outage; the hub reads it synchronously (is_connected, routing, presence),
so no message waits for a Redis round trip to find its way. Pure data, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

from signaling.bus import CallFlag, CallFlagName, Location

_LOC_ENTRY = re.compile(r"([^:,]+):(\d+)")


class ClusterMirror:
    """Other instances' sockets (subject -> instance -> registration seq) and call flags."""

    def __init__(self, instance_id: str) -> None:
        self._me = instance_id
        self._locations: dict[str, dict[str, int]] = {}
        self._flags: dict[str, CallFlag] = {}

    def instances_of(self, subject_id: str) -> frozenset[str]:
        return frozenset(self._locations.get(subject_id, ()))

    def flag(self, client_id: str) -> CallFlag | None:
        return self._flags.get(client_id)

    def subjects(self) -> Mapping[str, frozenset[str]]:
        return {s: frozenset(i) for s, i in self._locations.items()}

    def apply_location(self, event: Location) -> None:
        if event.instance_id == self._me:
            return
        if event.up:
            if event.exclusive:
                # A tablet's newer socket replaces every older one, wherever it was.
                self._locations[event.subject_id] = {event.instance_id: event.seq}
            else:
                self._locations.setdefault(event.subject_id, {})[event.instance_id] = event.seq
            return
        instances = self._locations.get(event.subject_id)
        if instances is not None:
            instances.pop(event.instance_id, None)
            if not instances:
                del self._locations[event.subject_id]

    def apply_flag(self, event: CallFlag) -> None:
        current = self._flags.get(event.client_id)
        if event.instance_id == self._me:
            # This instance owns the client's call now; its own sets are the truth.
            self._flags.pop(event.client_id, None)
        elif event.flag is not None:
            self._flags[event.client_id] = event
        elif current is not None and current.instance_id == event.instance_id:
            # Only the instance that set a flag clears it: an older owner's late "none" must
            # not clear the flag of the instance that adopted the call.
            del self._flags[event.client_id]

    def forget_instance(self, instance_id: str) -> None:
        for instances in self._locations.values():
            instances.pop(instance_id, None)
        self._locations = {s: i for s, i in self._locations.items() if i}

    def replace(self, locations: Mapping[str, str], flags: Mapping[str, str]) -> set[str]:
        """Rebuild from Redis's hashes; returns the subjects whose state changed."""
        new_locations: dict[str, dict[str, int]] = {}
        for subject, value in locations.items():
            instances = {i: int(q) for i, q in _LOC_ENTRY.findall(value) if i != self._me}
            if instances:
                new_locations[subject] = instances
        new_flags: dict[str, CallFlag] = {}
        for client, value in flags.items():
            flag, _, rest = value.partition("|")
            owner, _, at = rest.partition("|")
            if owner != self._me and flag in ("ringing", "in_call"):
                new_flags[client] = CallFlag(client, cast(CallFlagName, flag), owner, float(at))
        changed = {
            s
            for s in new_locations.keys() | self._locations.keys()
            if set(new_locations.get(s, ())) != set(self._locations.get(s, ()))
        }
        changed |= {
            c
            for c in new_flags.keys() | self._flags.keys()
            if _flag_name(new_flags.get(c)) != _flag_name(self._flags.get(c))
        }
        self._locations, self._flags = new_locations, new_flags
        return changed


def _flag_name(flag: CallFlag | None) -> str | None:
    return flag.flag if flag is not None else None


def location_from_event(message: Mapping[str, Any]) -> Location:
    return Location(
        subject_id=str(message["s"]),
        instance_id=str(message["i"]),
        up=bool(message["u"]),
        exclusive=bool(message["x"]),
        seq=int(message["q"]),
        at=float(message["t"]),
    )


def flag_from_event(message: Mapping[str, Any]) -> CallFlag:
    return CallFlag(
        client_id=str(message["c"]),
        flag=cast(CallFlagName, message["f"]) if message["f"] else None,
        instance_id=str(message["i"]),
        at=float(message["t"]),
    )
