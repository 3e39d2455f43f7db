"""Passwords, device tokens and pairing codes: how they are made and how they are checked."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# scrypt with n=2**14, r=8 uses 16 MiB per hash: memory-hard, ~50 ms here, OWASP's floor.
_SCRYPT_N = 2**14
_SCRYPT_R = 8
_SCRYPT_P = 1
# Crockford-style alphabet: no 0/O or 1/I/L for codes read aloud or typed by a nurse.
_PAIRING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
PAIRING_CODE_LENGTH = 8


def hash_password(password: str) -> str:
    """Return a self-describing scrypt hash of the password."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    return "$".join(
        ["scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P), _b64(salt), _b64(digest)]
    )


def verify_password(password: str, encoded: str) -> bool:
    """Constant-time check of a password against a hash from hash_password()."""
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.urlsafe_b64decode(digest + "==")
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.urlsafe_b64decode(salt + "=="),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def new_token() -> str:
    """A 256-bit bearer secret (device tokens, session ids)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Only this digest is stored: tokens carry 256 bits, so a fast hash suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_pairing_code() -> str:
    """A short one-time code an admin reads to whoever sets up the tablet, e.g. 'K7PM-3QXR'."""
    raw = "".join(secrets.choice(_PAIRING_ALPHABET) for _ in range(PAIRING_CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalise_pairing_code(code: str) -> str:
    """Accept what people type: lower case, spaces, missing dash."""
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    return f"{cleaned[:4]}-{cleaned[4:]}" if len(cleaned) == PAIRING_CODE_LENGTH else cleaned


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
