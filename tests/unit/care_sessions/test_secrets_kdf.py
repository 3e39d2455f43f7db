"""Passwords, tokens and pairing codes."""

from __future__ import annotations

from care_sessions.secrets_kdf import (
    hash_password,
    new_pairing_code,
    normalise_pairing_code,
    token_digest,
    verify_password,
)


def test_password_round_trip_and_salt() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second, "each hash has its own salt"
    assert first.startswith("scrypt$16384$8$1$")
    assert verify_password("correct horse", first)
    assert not verify_password("correct horsE", first)


def test_malformed_hash_never_verifies() -> None:
    for broken in ("", "plain", "scrypt$x$y$z$a$b", "bcrypt$1$2$3$4$5"):
        assert not verify_password("anything", broken)


def test_pairing_codes_are_short_unambiguous_and_forgiving() -> None:
    codes = {new_pairing_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 9 and code[4] == "-"
        assert not set(code) & set("01OIL")
    code = next(iter(codes))
    assert normalise_pairing_code(code.lower().replace("-", " ")) == code


def test_token_digest_is_stable_and_not_the_token() -> None:
    assert token_digest("abc") == token_digest("abc")
    assert token_digest("abc") != "abc" and len(token_digest("abc")) == 64
