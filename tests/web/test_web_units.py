"""Small pieces of web/ on their own: the rate limiter, form reading, login redirects."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from care_sessions.identity import Language
from web.forms import FormError, FormReader
from web.presenters import duration_text
from web.rate_limit import RateLimiter
from web.routes_auth import safe_next


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_window_slides() -> None:
    clock = FakeMonotonic()
    limiter = RateLimiter(3, 60.0, monotonic=clock)
    assert [limiter.try_acquire("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.try_acquire("b")
    assert limiter.retry_after_s("a") == 60
    clock.now += 30
    assert limiter.retry_after_s("a") == 30
    clock.now += 30.5
    assert limiter.try_acquire("a")
    assert limiter.retry_after_s("a") == 0


def test_rate_limiter_forgets_the_stalest_keys_when_full() -> None:
    """Many source addresses must not grow the table without bound."""
    limiter = RateLimiter(1, 60.0, max_keys=2, monotonic=FakeMonotonic())
    for key in ("a", "b", "c"):
        limiter.record(key)
    assert not limiter.blocked("a")
    assert limiter.blocked("b") and limiter.blocked("c")
    assert not limiter.blocked("d")
    limiter.record("d")
    assert limiter.blocked("d")


def test_blocked_does_not_record() -> None:
    limiter = RateLimiter(1, 60.0, max_keys=1, monotonic=FakeMonotonic())
    limiter.record("a")
    for key in ("x", "y", "z"):
        assert not limiter.blocked(key)
    assert limiter.blocked("a")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/dashboard", "/dashboard"),
        ("/sessions?page=2", "/sessions?page=2"),
        ("", None),
        ("dashboard", None),
        ("//evil.example", None),
        ("/\\evil.example", None),
        ("https://evil.example/", None),
        ("/\r\nSet-Cookie: x", None),
        ("/" + "a" * 1000, None),
    ],
)
def test_safe_next(value: str, expected: str | None) -> None:
    assert safe_next(value) == expected


def test_form_reader_collects_every_error() -> None:
    form = FormReader(MultiDict({"name": "  Aino  ", "language": "de", "delay": "x"}))
    assert form.text("name", "Name", max_len=10) == "Aino"
    assert form.choice("language", "Language", Language, Language.FI) is Language.FI
    assert form.integer("delay", "Delay", low=0, high=60, default=10) == 10
    assert form.checkbox("auto", "Auto") is False
    with pytest.raises(FormError) as raised:
        form.raise_if_invalid()
    assert set(raised.value.errors) == {"language", "delay"}


def test_duration_text() -> None:
    assert duration_text(None) == ""
    assert duration_text(9.4) == "9 s"
    assert duration_text(125) == "2 min 5 s"
    assert duration_text(3 * 3600 + 120) == "3 h 2 min"
