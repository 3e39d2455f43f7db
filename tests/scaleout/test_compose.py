"""compose.yaml holds together: checked by structure, since no Docker engine runs here."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hoiva.config import load_config
from tests.scaleout.proxy import NGINX, render_nginx_conf

ROOT = Path(__file__).resolve().parents[2]
INSTANCES = ("hoiva-1", "hoiva-2")


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment as a mapping"
    return {str(k): str(v) for k, v in env.items()}


def _interpolate(value: str) -> str:
    """What `docker compose` does with ${VAR:?msg} / ${VAR:-default}, with test values."""
    values = {"HOIVA_PUBLIC_IP": "203.0.113.10", "HOIVA_TURN_SECRET": "s3cret"}
    values["POSTGRES_PASSWORD"] = "pw"
    return re.sub(r"\$\{(\w+)(?::[?-][^}]*)?\}", lambda m: values[m.group(1)], value)


def test_the_stack_has_its_engines_two_instances_and_a_proxy() -> None:
    services = _compose()["services"]
    assert {"redis", "postgres", "coturn", "nginx", *INSTANCES} <= services.keys()
    for name in ("redis", "postgres"):
        assert "healthcheck" in services[name], f"{name} needs a healthcheck to depend on"


def test_every_instance_is_a_distinct_member_of_one_cluster() -> None:
    services = _compose()["services"]
    envs = [_env(services[name]) for name in INSTANCES]
    assert len({env["HOIVA_BUS__INSTANCE_ID"] for env in envs}) == len(INSTANCES)
    assert len({env["HOIVA_SERVER__PORT"] for env in envs}) == len(INSTANCES)
    for name, env in zip(INSTANCES, envs, strict=True):
        service = services[name]
        assert service["build"] == "."
        assert (ROOT / "Dockerfile").is_file()
        assert env["HOIVA_BUS__REDIS_URL"].startswith("redis://")
        assert env["HOIVA_DATABASE__URL"].startswith("postgresql+asyncpg://")
        assert service["stop_signal"] == "SIGTERM", "SIGTERM drains"
        depends = service["depends_on"]
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        # The environment is a valid Hoiva configuration (unknown keys would stop start-up).
        config = load_config(env={k: _interpolate(v) for k, v in env.items()})
        assert config.bus.redis_url is not None
        assert config.media.turn_urls and config.media.turn_shared_secret == "s3cret"
        assert config.media.bind_addresses == ["203.0.113.10"]


def test_coturn_and_hoiva_share_one_secret_and_the_rest_scheme() -> None:
    services = _compose()["services"]
    command = " ".join(services["coturn"]["command"])
    assert "--static-auth-secret=${HOIVA_TURN_SECRET}" in command
    for name in INSTANCES:
        assert "HOIVA_TURN_SECRET" in _env(services[name])["HOIVA_MEDIA__TURN_SHARED_SECRET"]
    conf = (ROOT / "deploy/coturn/turnserver.conf").read_text()
    assert re.search(r"^use-auth-secret$", conf, re.MULTILINE)
    assert not re.search(r"^static-auth-secret", conf, re.MULTILINE), "no secret in the repo"


def test_the_proxy_balances_websockets_over_both_instances() -> None:
    services = _compose()["services"]
    conf = (ROOT / "deploy/nginx/nginx.conf").read_text()
    for name in INSTANCES:
        assert f"127.0.0.1:{_env(services[name])['HOIVA_SERVER__PORT']}" in conf
        assert services["nginx"]["depends_on"][name]["condition"] == "service_healthy"
    assert "proxy_set_header Upgrade $http_upgrade" in conf
    assert "proxy_set_header Connection $connection_upgrade" in conf
    assert re.search(r"proxy_next_upstream [^;]*http_503", conf), "draining 503 -> next"


def test_every_mounted_file_exists() -> None:
    for name, service in _compose()["services"].items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).is_file(), f"{name} mounts missing {source}"


def test_the_tests_run_the_shipped_proxy_config_changing_only_ports_and_paths(
    tmp_path: Path,
) -> None:
    """tests/scaleout's nginx runs deploy/nginx/nginx.conf itself: rendering replaces the
    upstream ports, the listen address and the run paths, and keeps every other line."""
    shipped = (ROOT / "deploy/nginx/nginx.conf").read_text()
    rendered = render_nginx_conf(
        shipped, listen_port=18080, upstream_ports=[18081, 18082, 18083], run_dir=tmp_path
    )
    kept = [line for line in shipped.splitlines() if not re.search(r"server 127|listen ", line)]
    rendered_lines = rendered.splitlines()
    assert all(line in rendered_lines for line in kept)
    servers = [line.strip() for line in rendered_lines if line.strip().startswith("server 127")]
    assert servers == [
        f"server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in (18081, 18082, 18083)
    ]
    assert "listen 127.0.0.1:18080;" in rendered
    if NGINX is None:
        pytest.skip("needs nginx (apt-get install nginx)")
    conf = tmp_path / "nginx.conf"
    conf.write_text(rendered)
    globals_ = f"pid {tmp_path / 'nginx.pid'};"
    checked = subprocess.run(
        [
            NGINX,
            "-t",
            "-p",
            str(tmp_path),
            "-e",
            str(tmp_path / "e.log"),
            "-c",
            str(conf),
            "-g",
            globals_,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
