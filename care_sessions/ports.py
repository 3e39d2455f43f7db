"""What the domain needs from storage; store implements it with SQLAlchemy."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from care_sessions.help_requests import HelpRequest
from care_sessions.identity import Client, ClientSettings, Device, Language, StaffUser
from care_sessions.records import SessionRecord


class AccountStore(Protocol):
    async def add_staff(self, user: StaffUser) -> None: ...

    async def set_staff_language(self, user_id: str, language: Language | None) -> None:
        """Remember the staff pages' language a person chose; None follows the browser."""
        ...

    async def staff_by_username(self, username: str) -> StaffUser | None: ...

    async def staff_by_id(self, user_id: str) -> StaffUser | None: ...

    async def list_staff(self) -> list[StaffUser]: ...

    async def add_web_session(
        self, token_digest: str, user_id: str, csrf_token: str, expires_at: datetime
    ) -> None: ...

    async def web_session(self, token_digest: str, now: datetime) -> tuple[StaffUser, str] | None:
        """The signed-in user and the session's CSRF token, if the session is live."""
        ...

    async def delete_web_session(self, token_digest: str) -> None: ...


class ClientStore(Protocol):
    async def add_client(self, client: Client) -> None: ...

    async def client(self, client_id: str) -> Client | None: ...

    async def list_clients(self) -> list[Client]: ...

    async def update_client_settings(self, client_id: str, settings: ClientSettings) -> None: ...


class DeviceStore(Protocol):
    async def add_pairing_code(
        self, code_digest: str, client_id: str, expires_at: datetime, created_by: str
    ) -> None: ...

    async def redeem_pairing_code(
        self, code_digest: str, now: datetime, device: Device, token_digest: str
    ) -> Device:
        """Atomically use an unexpired, unused code and enrol the device; raises PairingFailed."""
        ...

    async def device_by_token(self, token_digest: str) -> Device | None: ...

    async def devices_for_client(self, client_id: str) -> list[Device]: ...

    async def revoke_device(self, device_id: str, at: datetime) -> Device | None: ...

    async def touch_device(self, device_id: str, at: datetime) -> None: ...

    async def erase_optional_client_data(self, client_id: str) -> dict[str, int]:
        """Delete tablets and pairing codes of a client; returns counts by kind."""
        ...


class SessionStore(Protocol):
    async def session_started(self, record: SessionRecord) -> None: ...

    async def session_updated(self, record: SessionRecord) -> None: ...

    async def session(self, session_id: str) -> SessionRecord | None: ...

    async def recent_sessions(self, limit: int = 50) -> list[SessionRecord]: ...

    async def sessions_for_client(
        self, client_id: str, limit: int = 10_000
    ) -> list[SessionRecord]: ...

    async def mark_open_sessions_interrupted(self, at: datetime) -> int:
        """Close records a crash left open; returns how many."""
        ...


class HelpStore(Protocol):
    async def add_help_request(self, request: HelpRequest) -> None: ...

    async def take_help_request(
        self, request_id: str, nurse_id: str, at: datetime, session_id: str
    ) -> HelpRequest:
        """Atomically assign an open request; raises InvalidState if someone took it first."""
        ...

    async def cancel_help_request(self, request_id: str, at: datetime) -> None: ...

    async def open_help_requests(self) -> list[HelpRequest]: ...

    async def help_requests_for_client(self, client_id: str) -> list[HelpRequest]: ...


class CareStore(AccountStore, ClientStore, DeviceStore, SessionStore, HelpStore, Protocol):
    """Everything Hoiva persists."""
