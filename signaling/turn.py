"""Short-lived TURN credentials in coturn's REST format (draft-uberti-behave-turn-rest)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

MAX_TTL_S = 12 * 3600


@dataclass(frozen=True)
class TurnCredential:
    username: str
    password: str
    expires_at: int  # unix time


def turn_credential(secret: str, subject: str, now: datetime, ttl_s: int) -> TurnCredential:
    """username = "<expiry>:<subject>", password = base64(HMAC-SHA1(secret, username)).

    coturn recomputes the password from the username and refuses it once the expiry passed,
    so a leaked credential is useless after ttl_s (never more than 12 hours).
    """
    if not 0 < ttl_s <= MAX_TTL_S:
        raise ValueError(f"TURN credential lifetime must be 1..{MAX_TTL_S} s")
    expires_at = int(now.timestamp()) + ttl_s
    # The subject is an opaque id, never a name: TURN servers log usernames.
    username = f"{expires_at}:{subject}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredential(username, base64.b64encode(digest).decode(), expires_at)
