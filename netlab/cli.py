"""`hoiva lab` (also `python -m netlab`): run a program on a home link by hand.

    hoiva lab run weak-4g --serve 'hoiva demo --host 10.203.0.1' -- chromium http://10.203.0.1:8080/tablet

The command first moves itself into a fresh network namespace holding only loopback (as
scripts/test does), so the lab never touches the machine's own interfaces. There, `--serve`
commands run on the server side (address 10.203.0.1) and the program after `--` runs as a
participant on the named link. Both see NETLAB_SERVER and NETLAB_ADDRESS.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Any

from netlab.lab import Lab
from netlab.namespaces import stop_process
from netlab.profiles import PROFILES, get_profile, markdown_table

_IN_LAB_NAMESPACE = "NETLAB_NETNS"


def add_parser(sub: Any) -> None:
    """Add `lab` (with `run` and `profiles`) to a subcommand set."""
    lab = sub.add_parser("lab", help="run a program on a simulated home network link")
    lab_sub = lab.add_subparsers(required=True, metavar="LAB_COMMAND")
    run = lab_sub.add_parser("run", help="run COMMAND as a participant on PROFILE's link")
    run.add_argument("profile", choices=sorted(PROFILES), help="link profile")
    run.add_argument("--name", default="home1", help="participant name (default home1)")
    run.add_argument(
        "--serve",
        action="append",
        default=[],
        metavar="SHELL_COMMAND",
        help="run on the server side (10.203.0.1) for the whole run (repeatable)",
    )
    run.add_argument(
        "--no-events", action="store_true", help="do not play the profile's outage or switch"
    )
    run.add_argument(
        "--serve-wait",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="wait after starting --serve commands (default 2)",
    )
    run.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARG...]")
    run.set_defaults(func=lab_run, run_parser=run)
    profiles = lab_sub.add_parser("profiles", help="print the link profiles")
    profiles.set_defaults(func=lab_profiles)


async def lab_profiles(args: argparse.Namespace) -> int:
    print(markdown_table())
    return 0


def _own_argv(args: argparse.Namespace, command: list[str]) -> list[str]:
    argv = [sys.executable, "-m", "netlab", "run", "--name", args.name]
    for serve in args.serve:
        argv += ["--serve", serve]
    if args.no_events:
        argv.append("--no-events")
    argv += ["--serve-wait", str(args.serve_wait), args.profile, "--", *command]
    return argv


def _enter_fresh_namespace(argv: list[str]) -> None:
    package_parent = str(Path(__file__).resolve().parent.parent)
    pythonpath = os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))
    os.execvp(
        "unshare",
        [
            "unshare",
            "--net",
            "--",
            "env",
            f"{_IN_LAB_NAMESPACE}=1",
            f"PYTHONPATH={pythonpath}",
            "sh",
            "-c",
            'ip link set lo up && exec "$0" "$@"',
            *argv,
        ],
    )


def _split_options(args: argparse.Namespace) -> tuple[argparse.Namespace, list[str]]:
    # argparse hands everything after the profile to REMAINDER, options included (and '--'
    # does not survive nested subcommands): options given after the profile are parsed here.
    rest: list[str] = args.command
    if "--" not in rest:
        return args, rest
    cut = rest.index("--")
    options, command = rest[:cut], rest[cut + 1 :]
    if options:
        args = args.run_parser.parse_args([*options, args.profile])
    return args, command


async def lab_run(args: argparse.Namespace) -> int:
    args, command = _split_options(args)
    if not command:
        print("hoiva lab run: give a command after --", file=sys.stderr)
        return 2
    if os.environ.get(_IN_LAB_NAMESPACE) != "1":
        _enter_fresh_namespace(_own_argv(args, command))
    profile = get_profile(args.profile)
    async with Lab() as lab:
        home = await lab.add_participant(args.name, profile)
        print(
            f"lab: {home.name} at {home.address} on {profile.name} (RTT {profile.rtt_ms:g} ms, "
            f"jitter {profile.jitter_ms:g} ms, loss {profile.loss_pct:g} %, down "
            f"{profile.down_kbps} / up {profile.up_kbps} kbps); server side {lab.server_address}",
            file=sys.stderr,
            flush=True,
        )
        servers = [
            await asyncio.create_subprocess_exec(
                "sh", "-c", serve, env=home.env(), start_new_session=True
            )
            for serve in args.serve
        ]
        try:
            if servers:
                await asyncio.sleep(args.serve_wait)
            participant = await home.spawn(command)
            if profile.events and not args.no_events:
                home.play_events()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            done = asyncio.create_task(participant.wait())
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait({done, stopped}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if not done.done():
                await stop_process(participant)
            return participant.returncode if participant.returncode is not None else 1
        finally:
            for server in servers:
                await stop_process(server)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netlab", description=__doc__)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    # `python -m netlab run ...` is `hoiva lab run ...` without importing the server.
    add_parser(sub)
    args = parser.parse_args(["lab", *(argv if argv is not None else sys.argv[1:])])
    with contextlib.suppress(KeyboardInterrupt):
        result: int = asyncio.run(args.func(args))
        return result
    return 130
