"""TURN credentials in coturn's REST format."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from signaling.turn import turn_credential

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_username_carries_expiry_and_password_is_hmac_sha1() -> None:
    credential = turn_credential("s3cret", "client-41", NOW, ttl_s=600)
    expiry = int(NOW.timestamp()) + 600
    assert credential.username == f"{expiry}:client-41"
    expected = hmac.new(b"s3cret", credential.username.encode(), hashlib.sha1).digest()
    assert base64.b64decode(credential.password) == expected
    assert credential.expires_at == expiry


def test_other_secret_gives_another_password() -> None:
    first = turn_credential("one", "c", NOW, ttl_s=60)
    second = turn_credential("two", "c", NOW, ttl_s=60)
    assert first.username == second.username and first.password != second.password


@pytest.mark.parametrize("ttl", [0, -5, 12 * 3600 + 1])
def test_lifetime_is_bounded_to_twelve_hours(ttl: int) -> None:
    with pytest.raises(ValueError):
        turn_credential("s", "c", NOW, ttl_s=ttl)
