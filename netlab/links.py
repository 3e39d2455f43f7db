"""The wire between a participant and the server: two tun devices and the lab's addresses.

Each participant gets a tun device in its own namespace and one in the server's (the test's)
namespace; the router process forwards between their file descriptors. Both are opened here in
the server's namespace and the participant's end is then moved into its namespace: an open tun
keeps working across the move, and when the router (the last holder of the descriptors) exits,
both devices disappear with their routes.

Addresses come from one private subnet, `10.203.0.0/16`, that exists only inside namespaces
the lab creates. The server side is `10.203.0.1` on an anchor device of its own (the kernel
here has no `dummy` driver, so it is a tun nobody reads); participant n is `10.203.n.2`, and
`10.203.n.3`, `.4`, ... after each address change. No namespace the lab touches has a default
route, so nothing can leave the machine.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import struct

from netlab.commands import run
from netlab.errors import NetlabError
from netlab.namespaces import Namespace

SUBNET = ipaddress.IPv4Network("10.203.0.0/16")
SERVER_ADDRESS = "10.203.0.1"
ANCHOR_DEVICE = "hoivalab0"
PARTICIPANT_DEVICE = "lab0"
SERVER_DEVICE_PREFIX = "hlab"
MAX_PARTICIPANTS = 254

_TUNSETIFF = 0x400454CA
_IFF_TUN = 0x0001
_IFF_NO_PI = 0x1000


def open_tun(name: str) -> int:
    """Create tun device `name` in this namespace; its file descriptor (closing it removes it)."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, _TUNSETIFF, struct.pack("16sH", name.encode(), _IFF_TUN | _IFF_NO_PI))
    except OSError as exc:
        os.close(fd)
        raise NetlabError(f"cannot create tun device {name}: {exc}") from exc
    return fd


def server_device(index: int) -> str:
    return f"{SERVER_DEVICE_PREFIX}{index}"


def participant_address(index: int, generation: int) -> str:
    """Participant `index`'s address after `generation` address changes."""
    if not 1 <= index <= MAX_PARTICIPANTS or not 0 <= generation <= 250:
        raise NetlabError(f"no address for participant {index}, change {generation}")
    return str(SUBNET.network_address + index * 256 + 2 + generation)


class Anchor:
    """The server side's address, on a device of its own, for as long as the lab runs."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    async def create(cls) -> Anchor:
        fd = open_tun(ANCHOR_DEVICE)
        try:
            await run(["ip", "addr", "add", f"{SERVER_ADDRESS}/32", "dev", ANCHOR_DEVICE])
            await run(["ip", "link", "set", ANCHOR_DEVICE, "up"])
        except NetlabError:
            os.close(fd)
            raise
        return cls(fd)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


class Link:
    """One participant's pair of tun devices, addressed and routed."""

    def __init__(self, index: int, namespace: Namespace, server_fd: int, participant_fd: int):
        self.index = index
        self.namespace = namespace
        self.server_fd = server_fd
        self.participant_fd = participant_fd
        self.server_device = server_device(index)
        self.generation = 0

    @property
    def address(self) -> str:
        return participant_address(self.index, self.generation)

    @classmethod
    async def create(cls, index: int, namespace: Namespace) -> Link:
        outer = server_device(index)
        # Named after the server side's until it is moved and renamed inside the namespace.
        inner = f"{outer}p"
        server_fd = open_tun(outer)
        participant_fd = -1
        try:
            participant_fd = open_tun(inner)
            await run(["ip", "link", "set", inner, "netns", str(namespace.pid)])
            await namespace.run(["ip", "link", "set", inner, "name", PARTICIPANT_DEVICE])
            link = cls(index, namespace, server_fd, participant_fd)
            await namespace.run(
                ["ip", "addr", "add", f"{link.address}/32", "dev", PARTICIPANT_DEVICE]
            )
            await namespace.run(["ip", "link", "set", PARTICIPANT_DEVICE, "up"])
            await namespace.run(["ip", "route", "add", str(SUBNET), "dev", PARTICIPANT_DEVICE])
            await run(["ip", "link", "set", outer, "up"])
            network = f"{SUBNET.network_address + index * 256}/24"
            await run(["ip", "route", "add", network, "dev", outer, "src", SERVER_ADDRESS])
        except BaseException:
            for fd in (server_fd, participant_fd):
                if fd >= 0:
                    os.close(fd)
            raise
        return link

    async def change_address(self) -> tuple[str, str]:
        """Move the participant to its next address; (old, new)."""
        old = self.address
        new = participant_address(self.index, self.generation + 1)
        # Each address is a /32 of its own, so removing the old one leaves the new one and
        # the subnet route (which names no source) in place.
        await self.namespace.run(["ip", "addr", "add", f"{new}/32", "dev", PARTICIPANT_DEVICE])
        await self.namespace.run(["ip", "addr", "del", f"{old}/32", "dev", PARTICIPANT_DEVICE])
        self.generation += 1
        return old, new

    def close_fds(self) -> None:
        """Our copies of the descriptors; the devices go when the router's copies go too."""
        # Forget the numbers once closed: closing one twice could close someone else's file.
        for fd in (self.server_fd, self.participant_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.server_fd = self.participant_fd = -1
