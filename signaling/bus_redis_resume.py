"""Resume tokens across instances: issued on one, taken on any, and surviving a Redis restart.

A token lives in Redis (`hoiva:resume:<token>`, the subject it was issued to) so that a
client whose instance died can resume on another. Taking a token overwrites it with an empty
value (a tombstone) that keeps its expiry, so it is single use even against a late write.

The local part (signaling/resume_book.py, kept by LocalBus) remembers what this instance
issued and took. When Redis comes back empty after a restart, the instance writes back its
unused tokens (SET NX: never over a tombstone) and a tombstone for each token it took, the
way it announces its sockets again; so a client that reconnects after the restart with the
token of its last welcome is still resumed, and a token used before the restart stays used.
"""

from __future__ import annotations

import contextlib
from typing import cast

from signaling.bus import BusUnavailable
from signaling.bus_redis_link import RedisLinked


class RedisResumeTokens(RedisLinked):
    """The resume tokens of signaling.bus.ResumeTokens, kept in Redis as well as here."""

    async def put_resume(self, token: str, subject_id: str, ttl_s: float) -> None:
        await super().put_resume(token, subject_id, ttl_s)
        # While Redis is away the token is kept here and written when the bus heals.
        with contextlib.suppress(BusUnavailable):
            await self._call(
                lambda: self._redis.set(self._keys.resume(token), subject_id, px=int(ttl_s * 1000))
            )

    async def take_resume(self, token: str) -> str | None:
        # Used up by overwriting, not deleting: the empty value (a tombstone) keeps the token's
        # expiry, so a late announcement of it by its issuer (SET NX) cannot revive it.
        value = await self._call(
            lambda: self._redis.set(self._keys.resume(token), "", xx=True, keepttl=True, get=True)
        )
        subject = cast(str | None, value) or None
        if subject is not None:
            # Only real tokens: made-up ones must not crowd the real tombstones out.
            self._resume.note_taken(token)
        return subject

    async def _announce_resume_tokens(self) -> None:
        """Write back the unused tokens issued here and a tombstone for each one used here."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for issued in self._resume.issued():
                ttl_ms = max(1, int(issued.ttl_s * 1000))
                pipe.set(self._keys.resume(issued.token), issued.subject_id, px=ttl_ms, nx=True)
            for taken in self._resume.taken():
                pipe.set(self._keys.resume(taken.token), "", px=max(1, int(taken.ttl_s * 1000)))
            await pipe.execute()
