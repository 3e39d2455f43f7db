"""Network namespaces for participants, and the guard that keeps the lab off the host's.

A participant's namespace is held by a small process (`unshare -n` then `cat`) rather than
`ip netns add`: nothing is bind-mounted under /run/netns, and when the lab's process dies,
however it dies, `cat` reads the end of its stdin and exits, and the namespace goes with it.
Commands enter the namespace with `nsenter --net`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from pathlib import Path

from netlab.commands import run
from netlab.errors import NetlabError, NotIsolatedError

STOP_GRACE_S = 3.0


def _namespace_id(pid: int | str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except PermissionError:
        # Some sandboxes hide pid 1's namespaces even from root; the checks below still hold.
        return None


async def ensure_isolated(own_devices: tuple[str, ...] = ()) -> None:
    """Refuse to work anywhere but a namespace that holds only loopback (and the lab's own).

    The host's namespace always has a real interface (eth0, wlan0) or a default route; a
    namespace made with `unshare -n` has neither, so the lab never touches the host's.
    """
    own = _namespace_id("self")
    if own is not None and own == _namespace_id(1):
        raise NotIsolatedError(
            "the network lab runs only inside a namespace of its own "
            "(scripts/test and `hoiva lab run` make one with unshare -n)"
        )
    links = json.loads(await run(["ip", "-json", "link", "show"]) or "[]")
    foreign = sorted(
        link["ifname"]
        for link in links
        if link["ifname"] != "lo" and not link["ifname"].startswith(own_devices)
    )
    if foreign:
        raise NotIsolatedError(
            f"this network namespace has other interfaces ({', '.join(foreign)}); the lab runs "
            "only where there is nothing but loopback (unshare -n, as scripts/test does)"
        )
    routes = json.loads(await run(["ip", "-json", "route", "show", "default"]) or "[]")
    if routes:
        raise NotIsolatedError(
            "this network namespace has a default route; the lab would reach the real network"
        )


class Namespace:
    """A network namespace kept alive by a holder process, entered with nsenter."""

    def __init__(self, holder: asyncio.subprocess.Process) -> None:
        self._holder = holder
        self.pid = holder.pid

    @classmethod
    async def create(cls) -> Namespace:
        """A fresh namespace with only loopback, up."""
        holder = await asyncio.create_subprocess_exec(
            "unshare",
            "--net",
            "--",
            "sh",
            "-c",
            "ip link set lo up && echo ready && exec cat >/dev/null",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        assert holder.stdout is not None
        line = await holder.stdout.readline()
        if line.strip() != b"ready":
            with contextlib.suppress(ProcessLookupError):
                holder.kill()
            await holder.wait()
            raise NetlabError("could not create a network namespace (unshare -n as root?)")
        return cls(holder)

    @property
    def path(self) -> Path:
        return Path(f"/proc/{self.pid}/ns/net")

    def enter(self, argv: list[str]) -> list[str]:
        """`argv` as a command line that runs inside this namespace."""
        return ["nsenter", f"--net={self.path}", "--", *argv]

    async def run(self, argv: list[str], *, stdin: str | None = None) -> str:
        return await run(self.enter(argv), stdin=stdin)

    async def close(self) -> None:
        """End the holder; the namespace goes when the last process in it has gone."""
        if self._holder.returncode is None:
            assert self._holder.stdin is not None
            self._holder.stdin.close()
            try:
                await asyncio.wait_for(self._holder.wait(), STOP_GRACE_S)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self._holder.kill()
                await self._holder.wait()


async def stop_process(process: asyncio.subprocess.Process, grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM a process's whole group (it was started in a session of its own), then SIGKILL."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), grace_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
    # Children of the group leader that outlived it (a browser's helpers) go too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
