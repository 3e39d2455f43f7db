"""Resume tokens an instance issued and took, kept in memory until they expire.

The in-process bus keeps its tokens only here. The Redis bus keeps them in Redis and here as
well, so that a restarted (empty) Redis learns them again the way it learns presence again:
each instance writes back the tokens it issued that nobody has used yet, and a tombstone for
each token it took, so a token used before the restart stays used after it. Pure data.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

# A resume token outlives its socket for as long as any call could wait for it; it cannot be
# shortened when the socket closes, because an instance killed with -9 runs no close hook.
RESUME_TTL_S = 24 * 3600.0
# Sockets come and go far more slowly than this; the oldest token is forgotten first.
MAX_RESUME_TOKENS = 100_000
V = TypeVar("V")


@dataclass(frozen=True)
class IssuedToken:
    token: str
    subject_id: str
    ttl_s: float  # what is left of its life


@dataclass(frozen=True)
class TakenToken:
    token: str
    ttl_s: float


class ResumeBook:
    """Tokens issued here (token -> subject) and tokens used here, each until it expires."""

    def __init__(
        self, limit: int = MAX_RESUME_TOKENS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._clock = clock
        self._issued: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._taken: OrderedDict[str, float] = OrderedDict()

    def issue(self, token: str, subject_id: str, ttl_s: float) -> None:
        self._issued[token] = (subject_id, self._clock() + ttl_s)
        _trim(self._issued, self._limit)

    def take(self, token: str) -> str | None:
        """The subject of a token issued here, if still valid; it is used up either way."""
        entry = self._issued.pop(token, None)
        if entry is None or entry[1] <= self._clock():
            return None
        return entry[0]

    def note_taken(self, token: str, ttl_s: float = RESUME_TTL_S) -> None:
        """Remember that a token (issued here or elsewhere) was used, while it could be valid."""
        self._issued.pop(token, None)
        self._taken[token] = self._clock() + ttl_s
        _trim(self._taken, self._limit)

    def issued(self) -> list[IssuedToken]:
        """Unused, unexpired tokens issued here."""
        now = self._clock()
        return [
            IssuedToken(token, subject, expires - now)
            for token, (subject, expires) in self._issued.items()
            if expires > now
        ]

    def taken(self) -> list[TakenToken]:
        now = self._clock()
        return [
            TakenToken(token, expires - now)
            for token, expires in self._taken.items()
            if expires > now
        ]

    def __len__(self) -> int:
        return len(self._issued) + len(self._taken)


def _trim(entries: OrderedDict[str, V], limit: int) -> None:
    # The oldest entry is the first to expire (one lifetime for all): it goes first.
    while len(entries) > limit:
        entries.popitem(last=False)
