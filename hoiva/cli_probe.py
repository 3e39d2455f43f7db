"""`hoiva probe`: a synthetic test call to the media server every few minutes, as metrics.

Each run is an echo test (tablet_client/echo_test.py) through the real signaling and media
path. Every result is printed as one JSON line and exported to Prometheus, so that the
service knows it works before a nurse finds out that it does not.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from yarl import URL

from hoiva.config import load_config
from media.ice import use_host_addresses
from tablet_client.echo_test import EchoResult, run_echo_test

SETUP_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0)


class ProbeMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.up = Gauge(
            "hoiva_probe_success", "1 if the last probe call succeeded, else 0", registry=registry
        )
        self.setup = Gauge(
            "hoiva_probe_setup_seconds",
            "Socket opened to first echoed frame decoded, last probe call",
            registry=registry,
        )
        self.setup_histogram = Histogram(
            "hoiva_probe_setup_duration_seconds",
            "Setup time of successful probe calls",
            buckets=SETUP_BUCKETS,
            registry=registry,
        )
        self.runs = Counter(
            "hoiva_probe_runs", "Probe calls by result", ["result"], registry=registry
        )
        self.last_run = Gauge(
            "hoiva_probe_last_run_timestamp_seconds", "When the last probe ran", registry=registry
        )

    def observe(self, result: EchoResult) -> None:
        self.up.set(1 if result.ok else 0)
        self.runs.labels("success" if result.ok else "failure").inc()
        self.last_run.set(time.time())
        if result.ok and result.setup_s is not None:
            self.setup.set(result.setup_s)
            self.setup_histogram.observe(result.setup_s)


def add_parser(sub: Any) -> None:
    probe = sub.add_parser(
        "probe", help="place a test call to the media server every few minutes (metrics)"
    )
    probe.add_argument("--url", required=True, help="e.g. http://127.0.0.1:8080")
    secret = probe.add_mutually_exclusive_group()
    secret.add_argument("--token", help="the server's probe.token (default: from --config)")
    secret.add_argument("--token-file", type=Path, help="a file holding probe.token")
    probe.add_argument("--config", type=Path, help="read probe.token from this TOML file")
    probe.add_argument("--every", type=float, default=5.0, metavar="MINUTES")
    probe.add_argument("--once", action="store_true", help="one call; exit 0 on success, else 1")
    probe.add_argument("--frames", type=int, default=10, help="echoed frames that count as success")
    probe.add_argument("--timeout", type=float, default=20.0, metavar="SECONDS")
    probe.add_argument("--relay-only", action="store_true", help="media through TURN only")
    probe.add_argument(
        "--media-address",
        action="append",
        metavar="IP",
        help="gather media candidates only on this address (repeatable); "
        "default: loopback for a server on loopback, else every interface",
    )
    probe.add_argument("--metrics-host", default="127.0.0.1")
    probe.add_argument("--metrics-port", type=int, default=9464, help="0: no metrics endpoint")
    probe.set_defaults(func=run_probe)


def _token(args: argparse.Namespace) -> str | None:
    if args.token:
        return str(args.token)
    if args.token_file:
        return str(args.token_file.read_text().strip())
    return load_config(args.config).probe.token


def _loopback_of(url: str) -> list[str]:
    """A server on loopback is reached over loopback, which ICE leaves out unless told."""
    host = URL(url).host or ""
    try:
        return [host] if ipaddress.ip_address(host).is_loopback else []
    except ValueError:
        return ["127.0.0.1"] if host == "localhost" else []


def result_line(result: EchoResult) -> str:
    return json.dumps(
        {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "ok": result.ok,
            "setup_ms": None if result.setup_s is None else round(result.setup_s * 1000),
            "frames": result.frames,
            "error": result.error,
        }
    )


async def run_probe(args: argparse.Namespace) -> int:
    token = _token(args)
    if not token:
        print("hoiva probe: no probe token (--token, --token-file or probe.token)", file=sys.stderr)
        return 2
    addresses = args.media_address or _loopback_of(args.url)
    if addresses:
        use_host_addresses(addresses)
    registry = CollectorRegistry()
    metrics = ProbeMetrics(registry)
    if not args.once and args.metrics_port:
        start_http_server(args.metrics_port, addr=args.metrics_host, registry=registry)
    while True:
        result = await run_echo_test(
            args.url,
            token,
            frames=args.frames,
            timeout_s=args.timeout,
            relay_only=args.relay_only,
        )
        metrics.observe(result)
        print(result_line(result), flush=True)
        if args.once:
            return 0 if result.ok else 1
        await asyncio.sleep(args.every * 60)
