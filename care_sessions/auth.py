"""Signing staff in and pairing tablets: the rules, not the transport."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from care_sessions.clock import Clock
from care_sessions.errors import AuthenticationFailed, NotFound, PairingFailed
from care_sessions.family import FamilyCircle
from care_sessions.identity import Device, Principal, Role, StaffUser
from care_sessions.ports import CareStore
from care_sessions.secrets_kdf import (
    new_pairing_code,
    new_token,
    normalise_pairing_code,
    token_digest,
    verify_password,
)

PAIRING_CODE_TTL = timedelta(minutes=15)
# A fixed hash to verify against when the user does not exist, so that the response time
# does not tell an attacker which usernames are real.
_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


@dataclass(frozen=True)
class StaffSession:
    token: str  # goes into the cookie; only its digest is stored
    csrf_token: str
    user: StaffUser


@dataclass(frozen=True)
class IssuedPairingCode:
    code: str
    client_id: str
    expires_in_s: int


@dataclass(frozen=True)
class EnrolledDevice:
    token: str  # shown to the device once; only its digest is stored
    device: Device


class AuthService:
    """Staff logins, tablet pairing and token checks over a CareStore."""

    def __init__(
        self,
        store: CareStore,
        clock: Clock,
        session_ttl: timedelta = timedelta(hours=12),
        *,
        family: FamilyCircle | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._session_ttl = session_ttl
        # Without it (tools, tests) no call link signs a relative in.
        self.family = family

    async def login(self, username: str, password: str) -> StaffSession:
        user = await self._store.staff_by_username(username.strip().lower())
        if user is None or not user.active:
            verify_password(password, _DUMMY_HASH)
            raise AuthenticationFailed("wrong username or password")
        if not verify_password(password, user.password_hash):
            raise AuthenticationFailed("wrong username or password")
        token, csrf = new_token(), secrets.token_urlsafe(24)
        await self._store.add_web_session(
            token_digest(token), user.id, csrf, self._clock.now() + self._session_ttl
        )
        return StaffSession(token, csrf, user)

    async def staff_session(self, token: str) -> tuple[StaffUser, str] | None:
        return await self._store.web_session(token_digest(token), self._clock.now())

    async def logout(self, token: str) -> None:
        await self._store.delete_web_session(token_digest(token))

    async def issue_pairing_code(self, client_id: str, issued_by: str) -> IssuedPairingCode:
        if await self._store.client(client_id) is None:
            raise NotFound(f"no client {client_id}")
        code = new_pairing_code()
        await self._store.add_pairing_code(
            token_digest(code), client_id, self._clock.now() + PAIRING_CODE_TTL, issued_by
        )
        return IssuedPairingCode(code, client_id, int(PAIRING_CODE_TTL.total_seconds()))

    async def redeem_pairing_code(self, code: str, label: str = "") -> EnrolledDevice:
        normalised = normalise_pairing_code(code)
        if not normalised:
            raise PairingFailed("pairing code is empty")
        token = new_token()
        device = Device(
            id=str(uuid.uuid4()), client_id="", created_at=self._clock.now(), label=label[:80]
        )
        enrolled = await self._store.redeem_pairing_code(
            token_digest(normalised), self._clock.now(), device, token_digest(token)
        )
        return EnrolledDevice(token, enrolled)

    async def token_principal(self, token: str) -> Principal:
        """Who a socket's token belongs to: a tablet's device token or a relative's call link."""
        device = await self._store.device_by_token(token_digest(token))
        if device is None and self.family is not None:
            return await self.family.principal(token)
        return await self._device_principal(device)

    async def tablet_principal(self, token: str) -> Principal:
        """The principal behind a device token; raises AuthenticationFailed when unusable."""
        return await self._device_principal(await self._store.device_by_token(token_digest(token)))

    async def _device_principal(self, device: Device | None) -> Principal:
        if device is None or device.revoked:
            raise AuthenticationFailed("unknown or revoked device token")
        client = await self._store.client(device.client_id)
        if client is None:
            raise AuthenticationFailed("device belongs to no client")
        return Principal(Role.TABLET, client.id, client.first_name, device_id=device.id)


def staff_principal(user: StaffUser) -> Principal:
    return Principal(user.role, user.id, user.display_name)
