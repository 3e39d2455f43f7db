"""The lab's API for tests and benchmarks: participants on named links to the server side.

    async with Lab() as lab:
        home = await lab.add_participant("home1", profile="weak-4g")
        tablet = await home.spawn(["hoiva", "tablet", "--server", lab.server_url(8080), ...])
        await home.blackout(10)
        await home.set_profile("dsl")
        await home.change_address()

The calling process's namespace is the server side: it binds `SERVER_ADDRESS` (or 0.0.0.0).
Each participant is a namespace of its own whose only way anywhere is its link. Leaving the
`async with`, by return or by exception, stops spawned programs, routers and namespaces.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from netlab.commands import run
from netlab.delay import DirectionSpec
from netlab.errors import NetlabError
from netlab.links import (
    ANCHOR_DEVICE,
    MAX_PARTICIPANTS,
    PARTICIPANT_DEVICE,
    SERVER_ADDRESS,
    SERVER_DEVICE_PREFIX,
    Anchor,
    Link,
)
from netlab.namespaces import Namespace, ensure_isolated, stop_process
from netlab.profiles import AddressChange, Blackout, LinkProfile, get_profile
from netlab.shaping import delete_table, shape

ROUTER_START_S = 10.0
_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)


def _router_specs(profile: LinkProfile) -> dict[str, Any]:
    one_way = DirectionSpec(
        delay_s=profile.rtt_ms / 2000,
        jitter_s=profile.jitter_ms / 1000 / math.sqrt(2),
        reorder=profile.reorder,
    )
    spec = {"delay_s": one_way.delay_s, "jitter_s": one_way.jitter_s, "reorder": one_way.reorder}
    return {"cmd": "configure", "down": spec, "up": spec}


class Router:
    """The router process of one link, and its control pipe."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._lock = asyncio.Lock()

    @classmethod
    async def start(cls, link: Link) -> Router:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_PARENT, env.get("PYTHONPATH")]))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "netlab.router",
            "--server-fd",
            str(link.server_fd),
            "--participant-fd",
            str(link.participant_fd),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            pass_fds=(link.server_fd, link.participant_fd),
            start_new_session=True,
            env=env,
        )
        router = cls(process)
        try:
            await asyncio.wait_for(router._reply(), ROUTER_START_S)
        except BaseException:
            await router.stop()
            raise
        return router

    async def _reply(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await self.process.stdout.readline()
        if not line:
            raise NetlabError("the link's router exited")
        reply: dict[str, Any] = json.loads(line)
        if not reply.get("ok"):
            raise NetlabError(f"router: {reply.get('error')}")
        return reply

    async def command(self, command: dict[str, Any]) -> dict[str, Any]:
        """Send one command and wait until the router has applied it."""
        async with self._lock:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps(command).encode() + b"\n")
            await self.process.stdin.drain()
            return await self._reply()

    async def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        await stop_process(self.process, grace_s=1.0)


class Participant:
    """A host on its own link to the server side, with a profile that can change mid-run."""

    def __init__(
        self, lab: Lab, name: str, namespace: Namespace, link: Link, router: Router
    ) -> None:
        self.lab = lab
        self.name = name
        self.namespace = namespace
        self.link = link
        self.router = router
        self.profile: LinkProfile | None = None
        self._processes: list[asyncio.subprocess.Process] = []
        self._events: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        """The participant's current address (it changes with `change_address`)."""
        return self.link.address

    @property
    def server_address(self) -> str:
        """Where programs in this participant reach the server side."""
        return SERVER_ADDRESS

    def env(self) -> dict[str, str]:
        """Environment for programs in this participant: the lab's addresses included."""
        return {
            **os.environ,
            "NETLAB_SERVER": SERVER_ADDRESS,
            "NETLAB_ADDRESS": self.address,
            "NETLAB_PARTICIPANT": self.name,
        }

    async def set_profile(self, profile: str | LinkProfile) -> None:
        """Apply a link profile (rate, queue, loss, delay, jitter) in both directions."""
        chosen = get_profile(profile)
        await shape(
            run,
            self.link.server_device,
            chosen.down_kbps,
            chosen.queue_ms,
            self._server_table,
            chosen.loss_pct,
        )
        await shape(
            self.namespace.run,
            PARTICIPANT_DEVICE,
            chosen.up_kbps,
            chosen.queue_ms,
            "netlab",
            chosen.loss_pct,
        )
        await self.router.command(_router_specs(chosen))
        self.profile = chosen

    async def blackout(self, seconds: float) -> None:
        """Drop everything both ways for `seconds` from now (returns at once)."""
        await self.router.command({"cmd": "blackout", "seconds": seconds})

    async def change_address(self) -> str:
        """Give the participant its next address; the old one is gone. The new address."""
        _, new = await self.link.change_address()
        return new

    async def router_stats(self) -> dict[str, Any]:
        """Packets and bytes the router forwarded and dropped each way, and its CPU seconds."""
        return await self.router.command({"cmd": "stats"})

    def play_events(self) -> asyncio.Task[None]:
        """Run the profile's timed events (outage, switch) from now; the task that does it."""
        if self._events is not None and not self._events.done():
            raise NetlabError(f"{self.name}: events are already playing")
        events = self.profile.events if self.profile is not None else ()
        self._events = asyncio.create_task(self._play(events))
        return self._events

    async def _play(self, events: tuple[Blackout | AddressChange, ...]) -> None:
        start = asyncio.get_running_loop().time()
        for event in sorted(events, key=lambda e: e.at_s):
            delay = start + event.at_s - asyncio.get_running_loop().time()
            await asyncio.sleep(max(0.0, delay))
            match event:
                case Blackout(duration_s=duration_s):
                    await self.blackout(duration_s)
                case AddressChange():
                    await self.change_address()

    async def spawn(self, argv: list[str], **kwargs: Any) -> asyncio.subprocess.Process:
        """Start a program inside the participant; stopped (with its group) when the lab ends."""
        kwargs.setdefault("env", self.env())
        process = await asyncio.create_subprocess_exec(
            *self.namespace.enter(argv), start_new_session=True, **kwargs
        )
        self._processes.append(process)
        return process

    async def run(
        self, argv: list[str], *, timeout: float = 60.0, check: bool = True
    ) -> tuple[int, str, str]:
        """Run a program inside the participant to its end: (exit status, stdout, stderr)."""
        process = await self.spawn(
            argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), timeout)
        finally:
            await stop_process(process)
        assert process.returncode is not None
        if check and process.returncode != 0:
            raise NetlabError(
                f"{self.name}: {' '.join(argv)} exited {process.returncode}: {err.decode()}"
            )
        return process.returncode, out.decode(), err.decode()

    @property
    def _server_table(self) -> str:
        return f"netlab_{self.link.server_device}"

    async def close(self) -> None:
        """Stop everything this participant runs, its router, link and namespace."""
        if self._events is not None:
            self._events.cancel()
            with contextlib.suppress(BaseException):
                await self._events
        for process in self._processes:
            await stop_process(process)
        await self.router.stop()
        self.link.close_fds()
        with contextlib.suppress(NetlabError):
            await run(["nft", "-f", "-"], stdin=delete_table(self._server_table))
        await self.namespace.close()


class Lab:
    """The server side of the lab (this process's namespace) and its participants."""

    def __init__(self) -> None:
        self.participants: dict[str, Participant] = {}
        self._anchor: Anchor | None = None
        self._next_index = 1

    @property
    def server_address(self) -> str:
        """The address participants reach the server side at; bind servers here."""
        return SERVER_ADDRESS

    def server_url(self, port: int, scheme: str = "http") -> str:
        return f"{scheme}://{SERVER_ADDRESS}:{port}"

    async def __aenter__(self) -> Lab:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        await ensure_isolated(own_devices=(ANCHOR_DEVICE, SERVER_DEVICE_PREFIX))
        self._anchor = await Anchor.create()
        # Participants reach each other through the server side (a p2p call between two homes).
        await run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])

    async def add_participant(self, name: str, profile: str | LinkProfile = "fibre") -> Participant:
        """A new host on its own link with `profile` applied."""
        if self._anchor is None:
            raise NetlabError("start the lab first (async with Lab() as lab)")
        if name in self.participants:
            raise NetlabError(f"there is already a participant {name!r}")
        if self._next_index > MAX_PARTICIPANTS:
            raise NetlabError(f"the lab holds at most {MAX_PARTICIPANTS} participants")
        chosen = get_profile(profile)
        index = self._next_index
        self._next_index += 1
        namespace = await Namespace.create()
        link: Link | None = None
        try:
            link = await Link.create(index, namespace)
            router = await Router.start(link)
        except BaseException:
            if link is not None:
                link.close_fds()
            await namespace.close()
            raise
        participant = Participant(self, name, namespace, link, router)
        self.participants[name] = participant
        # Once the router holds the descriptors, the devices live exactly as long as it does.
        link.close_fds()
        await participant.set_profile(chosen)
        return participant

    async def remove_participant(self, name: str) -> None:
        participant = self.participants.pop(name)
        await participant.close()

    async def close(self) -> None:
        """Remove every participant and the server side's address, whatever failed before."""
        errors: list[BaseException] = []
        for name in list(self.participants):
            try:
                await self.remove_participant(name)
            except Exception as exc:
                errors.append(exc)
        if self._anchor is not None:
            self._anchor.close()
            self._anchor = None
        if errors:
            raise NetlabError(f"lab cleanup: {errors}") from errors[0]
