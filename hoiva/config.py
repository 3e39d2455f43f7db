"""Hoiva's configuration: one typed tree, loaded once (defaults -> TOML file -> HOIVA_* env).

Unknown keys are errors, so a misspelt setting fails at start-up instead of being ignored.
`hoiva.sample.toml` at the repository root documents every key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Annotated, Any

import msgspec

ENV_PREFIX = "HOIVA_"
Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=86400)]


class _Section(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    pass


class ServerConfig(_Section, frozen=True):
    host: str = "127.0.0.1"
    port: Port = 8080
    # Where people reach Hoiva (behind a proxy this differs from host:port); used in links.
    public_url: str | None = None
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    # Behind a TLS-terminating proxy Hoiva sees plain HTTP but cookies must still be Secure.
    behind_tls_proxy: bool = False


class DatabaseConfig(_Section, frozen=True):
    url: str = "sqlite+aiosqlite:///var/hoiva.sqlite3"


class BusConfig(_Section, frozen=True):
    redis_url: str | None = None
    instance_id: str = ""
    # Each instance refreshes its heartbeat key this often; a key older than instance_ttl_s
    # means the instance died: its sockets leave the roster and a survivor adopts its calls.
    heartbeat_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = 1.0
    instance_ttl_s: Annotated[float, msgspec.Meta(gt=0, le=600)] = 4.0
    # Every Redis call gives up after this long; the instance then runs degraded until it heals.
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=30)] = 0.5
    # SIGTERM: how long calls may go on here before they are handed to another instance.
    drain_timeout_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 30.0


class IceServer(_Section, frozen=True):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class MediaConfig(_Section, frozen=True):
    bind_addresses: list[str] = msgspec.field(default_factory=lambda: ["127.0.0.1"])
    announce_address: str | None = None
    # Empty by default on purpose: aiortc's built-in default is a public STUN server.
    ice_servers: list[IceServer] = msgspec.field(default_factory=list)
    # TURN with short-lived credentials (coturn's REST scheme, `use-auth-secret`): Hoiva
    # hands every socket a fresh username/password derived from this shared secret.
    turn_urls: list[str] = msgspec.field(default_factory=list)
    turn_shared_secret: str | None = None
    turn_credential_ttl_s: Annotated[int, msgspec.Meta(ge=60, le=12 * 3600)] = 3600
    # Packet forwarding over aiortc internals, probed at start-up; off: aiortc's public API
    # only (decode and re-encode per subscriber), for an aiortc the probe refuses.
    fast_path: bool = True


class CallsConfig(_Section, frozen=True):
    ring_timeout_s: Seconds = 45.0
    # How long a participant whose socket dropped may take to come back before the call ends.
    drop_grace_s: Seconds = 10.0
    media_timeout_s: Seconds = 20.0


class SignalingConfig(_Section, frozen=True):
    heartbeat_s: Annotated[int, msgspec.Meta(ge=1, le=300)] = 20
    hello_timeout_s: Seconds = 10.0
    max_frame_bytes: Annotated[int, msgspec.Meta(ge=1024, le=4 * 1024 * 1024)] = 256 * 1024
    # Per connection: a steady rate and a burst; past them the socket is closed with 1008.
    messages_per_s: Annotated[float, msgspec.Meta(gt=0, le=10_000)] = 20.0
    message_burst: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 50
    max_connections_per_address: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 50
    # An address whose socket was closed for flooding is refused new sockets this long.
    flood_penalty_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 10.0


class CareConfig(_Section, frozen=True):
    # Round trip driven for one home visit that a virtual visit replaces (clients may have
    # their own figure on their care plan page).
    km_per_visit: Annotated[float, msgspec.Meta(ge=0, le=500)] = 12.0
    # CO2 per km driven; the seed report's 380 t over 1.75 million km is about 217 g/km.
    emission_g_per_km: Annotated[float, msgspec.Meta(ge=0, le=2000)] = 217.0
    # A check-in whose window passed unconfirmed rings the tablet this many times...
    retries: Annotated[int, msgspec.Meta(ge=0, le=10)] = 2
    # ...this many minutes apart, then becomes a task in the nurses' queue.
    retry_interval_min: Annotated[float, msgspec.Meta(gt=0, le=240)] = 10.0
    # An escalation still open after this many minutes asks for a home visit.
    home_visit_after_min: Annotated[float, msgspec.Meta(gt=0, le=1440)] = 60.0
    # How often the attention rules are evaluated.
    attention_every_min: Annotated[float, msgspec.Meta(gt=0, le=1440)] = 60.0
    # The longest the check-in scheduler sleeps between looks at the clock.
    scheduler_poll_s: Seconds = 30.0


class InsightConfig(_Section, frozen=True):
    """Call quality, camera checks and consented recording (docs/media.md, "Media insight")."""

    # Decode the client's camera now and then in 1:1 care calls for the nurse's hints.
    analyse_calls: bool = True
    # At most this many frames a second are analysed per call (keyframes the server asks for).
    analysis_fps: Annotated[float, msgspec.Meta(gt=0, le=2)] = 2.0
    keyframe_interval_s: Annotated[float, msgspec.Meta(ge=0.3, le=10)] = 1.0
    # "Nobody in view" is said only after this long without a face.
    no_face_after_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 20.0
    quality_interval_s: Annotated[float, msgspec.Meta(ge=0.5, le=60)] = 2.0
    recordings_dir: str = "var/recordings"
    # base64 of 32 random bytes (AES-256-GCM); without it recording is refused.
    recording_key: str | None = None
    recording_retention_days: Annotated[float, msgspec.Meta(gt=0, le=3650)] = 30.0
    retention_check_s: Annotated[float, msgspec.Meta(ge=1, le=86400)] = 3600.0
    # /metrics answers loopback scrapers, and anyone presenting "Bearer <this token>".
    metrics_token: str | None = None

    def __post_init__(self) -> None:
        if self.recording_key is not None:
            import base64
            import binascii

            try:
                raw = base64.b64decode(self.recording_key, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("insight.recording_key must be base64") from None
            if len(raw) != 32:
                raise ValueError("insight.recording_key must be 32 bytes (base64)")


class ProbeConfig(_Section, frozen=True):
    """The echo test (device self-tests, `hoiva probe`) and the synthetic probe's secret."""

    # `hoiva probe` says hello with this secret; unset: no probe may connect.
    token: str | None = None
    # An echo test ends by itself after this long.
    echo_max_s: Annotated[float, msgspec.Meta(gt=0, le=300)] = 30.0
    # Echo tests are cheap but not free: at most this many at once per instance.
    max_echo_tests: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 20


class FleetConfig(_Section, frozen=True):
    """The tablet fleet: heartbeats, self-tests and offline alerts (docs/protocol.md, "Fleet")."""

    # Tablets send tablet.heartbeat this often (and at once when something changes).
    heartbeat_s: Annotated[float, msgspec.Meta(ge=0.2, le=3600)] = 30.0
    # A tablet not heard from for this long raises an offline alert on the fleet page...
    offline_alert_after_s: Annotated[float, msgspec.Meta(ge=1, le=30 * 86400)] = 900.0
    # ...noticed by a check that runs this often.
    offline_check_s: Annotated[float, msgspec.Meta(ge=0.1, le=3600)] = 60.0
    # Every connected tablet runs its self-test daily at this Helsinki time ("" disables).
    daily_selftest_at: str = "03:00"
    # A self-test not answered within this long is shown as "no answer".
    selftest_timeout_s: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 60.0
    # Self-test results kept per tablet (the latest is shown; older ones are history).
    selftest_history: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 20

    def __post_init__(self) -> None:
        if self.daily_selftest_at:
            try:
                time.fromisoformat(self.daily_selftest_at)
            except ValueError:
                raise ValueError('fleet.daily_selftest_at must be "HH:MM" (or "")') from None

    @property
    def daily_selftest_time(self) -> time | None:
        return time.fromisoformat(self.daily_selftest_at) if self.daily_selftest_at else None


class LogConfig(_Section, frozen=True):
    level: str = "INFO"


class Config(_Section, frozen=True):
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)
    database: DatabaseConfig = msgspec.field(default_factory=DatabaseConfig)
    bus: BusConfig = msgspec.field(default_factory=BusConfig)
    media: MediaConfig = msgspec.field(default_factory=MediaConfig)
    calls: CallsConfig = msgspec.field(default_factory=CallsConfig)
    signaling: SignalingConfig = msgspec.field(default_factory=SignalingConfig)
    care: CareConfig = msgspec.field(default_factory=CareConfig)
    insight: InsightConfig = msgspec.field(default_factory=InsightConfig)
    probe: ProbeConfig = msgspec.field(default_factory=ProbeConfig)
    fleet: FleetConfig = msgspec.field(default_factory=FleetConfig)
    log: LogConfig = msgspec.field(default_factory=LogConfig)

    @property
    def secure_cookies(self) -> bool:
        return self.server.tls_cert_file is not None or self.server.behind_tls_proxy


class ConfigError(Exception):
    """The configuration cannot be used; the message says which key and why."""


def load_config(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Defaults, then the TOML file, then HOIVA_SECTION__KEY variables, then overrides."""
    tree: dict[str, Any] = {}
    if path is not None:
        try:
            tree = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read configuration {path}: {exc}") from exc
    for key, value in _env_entries(os.environ if env is None else env):
        _set_path(tree, key, value)
    for dotted, value in (overrides or {}).items():
        _set_path(tree, dotted.split("."), value)
    try:
        return msgspec.convert(tree, Config, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"invalid configuration: {exc}") from exc


def _env_entries(env: Mapping[str, str]) -> list[tuple[list[str], Any]]:
    entries = []
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or name in ("HOIVA_CONFIG",):
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
        if len(path) != 2:
            raise ConfigError(f"{name}: expected {ENV_PREFIX}SECTION__KEY, e.g. HOIVA_SERVER__PORT")
        entries.append((path, _env_value(raw)))
    return entries


def _env_value(raw: str) -> Any:
    """Environment values are TOML literals when they parse as one (numbers, lists, booleans)."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _set_path(tree: dict[str, Any], path: list[str], value: Any) -> None:
    node = tree
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{'.'.join(path)}: {part} is not a section")
        node = child
    node[path[-1]] = value
