"""The `hoiva` command: serve, demo, tablet, migrate, create-staff, report, probe, lab."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import signal
import ssl
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from care_sessions.identity import Role, StaffUser
from care_sessions.secrets_kdf import hash_password
from hoiva.app import SERVICES, build_app, build_services, close_services
from hoiva.cli_probe import add_parser as add_probe_parser
from hoiva.cli_report import add_parser as add_report_parser
from hoiva.config import Config, ConfigError, load_config
from hoiva.services import Services
from netlab.cli import add_parser as add_lab_parser

OnStarted = Callable[[Services, str], Awaitable[None]]


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        result: int = asyncio.run(args.func(args))
    except ConfigError as exc:
        print(f"hoiva: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hoiva", description=__doc__)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the server")
    _server_options(serve)
    serve.set_defaults(func=_serve)

    demo = sub.add_parser("demo", help="run the server with a seeded demo organisation")
    _server_options(demo)
    demo.add_argument("--tablets", type=int, default=2, help="simulated tablets to start (0-6)")
    demo.set_defaults(func=_demo)

    tablet = sub.add_parser("tablet", help="run a headless tablet")
    tablet.add_argument("--server", required=True, help="e.g. http://127.0.0.1:8080")
    who = tablet.add_mutually_exclusive_group(required=True)
    who.add_argument("--pairing-code")
    who.add_argument("--token")
    tablet.add_argument("--token-file", type=Path, help="where to keep the device token")
    source = tablet.add_mutually_exclusive_group()
    source.add_argument("--camera", metavar="DEVICE", help="V4L2 device, e.g. /dev/video0")
    source.add_argument("--synthetic", action="store_true", help="moving test pattern (default)")
    tablet.add_argument("--auto-answer-after", type=float, default=None, metavar="SECONDS")
    tablet.add_argument(
        "--media-address",
        action="append",
        metavar="IP",
        help="gather media candidates only on this address (repeatable); default: all interfaces",
    )
    tablet.set_defaults(func=_tablet)

    migrate = sub.add_parser("migrate", help="bring the database schema up to date")
    migrate.add_argument("--config", type=Path)
    migrate.set_defaults(func=_migrate)

    staff = sub.add_parser("create-staff", help="add a staff account (password from prompt)")
    staff.add_argument("--config", type=Path)
    staff.add_argument("--username", required=True)
    staff.add_argument("--name", required=True)
    staff.add_argument("--role", choices=["nurse", "host", "admin"], required=True)
    staff.set_defaults(func=_create_staff)

    add_report_parser(sub)
    add_probe_parser(sub)
    add_lab_parser(sub)
    return parser


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML file (see hoiva.sample.toml)")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    parser.add_argument("--instance-id")


def _config(args: argparse.Namespace, **defaults: object) -> Config:
    overrides: dict[str, object] = dict(defaults)
    for option, key in (
        ("host", "server.host"),
        ("port", "server.port"),
        ("database_url", "database.url"),
        ("redis_url", "bus.redis_url"),
        ("instance_id", "bus.instance_id"),
    ):
        value = getattr(args, option, None)
        if value is not None:
            overrides[key] = value
    return load_config(getattr(args, "config", None), overrides=overrides)


async def run_server(config: Config, on_started: OnStarted | None = None) -> int:
    """Serve until SIGINT/SIGTERM; SIGTERM drains first when the instance has peers."""
    logging.getLogger().setLevel(config.log.level.upper())
    app = await build_app(config)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    tls = _tls_context(config)
    site = web.TCPSite(runner, config.server.host, config.server.port, ssl_context=tls)
    await site.start()
    scheme = "https" if tls else "http"
    url = config.server.public_url or f"{scheme}://{config.server.host}:{config.server.port}"
    print(f"Hoiva is serving on {url}", flush=True)
    stop = asyncio.Event()
    received: list[signal.Signals] = []

    def on_signal(signum: signal.Signals) -> None:
        received.append(signum)
        stop.set()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        if on_started is not None:
            await on_started(app[SERVICES], url)
        await stop.wait()
        if received[:1] == [signal.SIGTERM]:
            # An orchestrator's stop: new sockets and rooms go elsewhere, calls finish or move.
            await app[SERVICES].signaling.drain()
    finally:
        await runner.cleanup()
    return 0


def _tls_context(config: Config) -> ssl.SSLContext | None:
    if config.server.tls_cert_file is None:
        return None
    if config.server.tls_key_file is None:
        raise ConfigError("server.tls_cert_file needs server.tls_key_file")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config.server.tls_cert_file, config.server.tls_key_file)
    return context


async def _serve(args: argparse.Namespace) -> int:
    return await run_server(_config(args))


async def _demo(args: argparse.Namespace) -> int:
    from hoiva.demo import DEMO_STAFF, demo_probe_token, seed_demo
    from tablet_client.headless import HeadlessTablet

    probe_file = Path("var/demo-probe-token")
    config = _config(
        args,
        **{
            "database.url": "sqlite+aiosqlite:///var/hoiva-demo.sqlite3",
            "probe.token": demo_probe_token(probe_file),
        },
    )
    tablets: list[HeadlessTablet] = []

    async def started(services: Services, url: str) -> None:
        demo_tablets = await seed_demo(services, Path("var/demo-tablets.json"))
        admin = await services.store.staff_by_username("admin")
        assert admin is not None
        kiosk = demo_tablets[-1]
        code = await services.auth.issue_pairing_code(kiosk.client_id, admin.id)
        print("\nDemo logins (open the dashboard and sign in):")
        for login in DEMO_STAFF:
            print(f"  {login.role.value:6} {login.username:6} / {login.password}")
        print(f"\n  Nurse dashboard: {url}/dashboard")
        print(f"  Admin:           {url}/admin")
        print(
            f"  Kiosk tablet:    {url}/tablet  (pairing code {code.code} for "
            f"{kiosk.first_name}, valid 15 minutes)"
        )
        print(f"  Synthetic probe: hoiva probe --url {url} --token-file {probe_file} --once")
        for index, demo in enumerate(demo_tablets[: max(0, min(args.tablets, 5))]):
            tablet = HeadlessTablet(url, demo.token, source_id=index + 1)
            await tablet.start()
            tablets.append(tablet)
            print(f"  Simulated tablet online for {demo.first_name}")
        print("\nPress Ctrl+C to stop.", flush=True)

    try:
        return await run_server(config, started)
    finally:
        for tablet in tablets:
            await tablet.stop()


async def _tablet(args: argparse.Namespace) -> int:
    from media.camera import CameraVideoSource
    from media.ice import use_host_addresses
    from tablet_client.headless import HeadlessTablet

    if args.media_address:
        use_host_addresses(args.media_address)
    token = args.token
    if args.pairing_code:
        try:
            token = await HeadlessTablet.pair(args.server, args.pairing_code)
        except (PermissionError, OSError) as exc:
            print(f"hoiva tablet: pairing failed: {exc}", file=sys.stderr)
            return 2
        if args.token_file:
            args.token_file.write_text(token)
            args.token_file.chmod(0o600)
        print("Paired; keep the device token safe (use --token-file to store it).")
    video_factory = (lambda: CameraVideoSource(args.camera)) if args.camera else None
    tablet = HeadlessTablet(
        args.server, token, video_factory=video_factory, answer_after_s=args.auto_answer_after
    )
    await tablet.start()
    print("Tablet connected; waiting for calls. Ctrl+C to stop.", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    waiter = asyncio.create_task(tablet.revoked.wait())
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    for task in (waiter, stopper):
        task.cancel()
    await tablet.stop()
    if tablet.revoked.is_set():
        print("This tablet's token was revoked; pair it again.", file=sys.stderr)
        return 3
    return 0


async def _migrate(args: argparse.Namespace) -> int:
    services = await build_services(_config(args))
    await close_services(services)
    print("Database schema is up to date.")
    return 0


async def _create_staff(args: argparse.Namespace) -> int:
    password = getpass.getpass("Password: ")
    if len(password) < 10:
        print("hoiva: use at least 10 characters", file=sys.stderr)
        return 2
    services = await build_services(_config(args))
    try:
        await services.store.add_staff(
            StaffUser(
                id=str(uuid.uuid4()),
                username=args.username,
                display_name=args.name,
                role=Role(args.role),
                password_hash=hash_password(password),
            )
        )
    finally:
        await close_services(services)
    print(f"Added {args.role} {args.username}.")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
