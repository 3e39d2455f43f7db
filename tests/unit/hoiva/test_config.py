"""Configuration: defaults, file, environment, and loud failure on unknown keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from hoiva.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[3]


def test_defaults_are_the_embedded_single_process_setup() -> None:
    config = load_config(env={})
    assert config.database.url.startswith("sqlite+aiosqlite:///")
    assert config.bus.redis_url is None
    assert config.media.ice_servers == []
    assert config.media.bind_addresses == ["127.0.0.1"]


def test_file_then_environment_override(tmp_path: Path) -> None:
    path = tmp_path / "hoiva.toml"
    path.write_text('[server]\nport = 9000\nhost = "127.0.0.1"\n[calls]\nring_timeout_s = 30\n')
    config = load_config(path, env={"HOIVA_SERVER__PORT": "9100"})
    assert config.server.port == 9100
    assert config.calls.ring_timeout_s == 30


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"HOIVA_SERVER__PROT": "1"}, "prot"),
        ({"HOIVA_NOPE__X": "1"}, "nope"),
        ({"HOIVA_PORT": "1"}, "HOIVA_SECTION__KEY"),
        ({"HOIVA_SERVER__PORT": "99999"}, "port"),
        ({"HOIVA_CALLS__RING_TIMEOUT_S": "-1"}, "ring_timeout_s"),
    ],
)
def test_bad_settings_fail_with_the_key_named(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_config(env=env)


def test_unknown_key_in_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "hoiva.toml"
    path.write_text("[media]\nstun = 'stun.example.org'\n")
    with pytest.raises(ConfigError, match="stun"):
        load_config(path, env={})


def test_the_documented_sample_file_loads() -> None:
    config = load_config(ROOT / "hoiva.sample.toml", env={})
    assert config.server.port == 8080


def test_the_sample_file_mentions_every_key() -> None:
    import msgspec

    from hoiva.config import Config

    text = (ROOT / "hoiva.sample.toml").read_text()
    for section in msgspec.structs.fields(Config):
        assert f"[{section.name}]" in text
        section_type = section.type
        for field in msgspec.structs.fields(section_type):
            assert f"{field.name} =" in text, f"{section.name}.{field.name} is undocumented"
