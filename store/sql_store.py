"""CareStore on SQLAlchemy Core (async): the one place that knows Hoiva's SQL."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from care_sessions.errors import InvalidState, PairingFailed
from care_sessions.help_requests import HelpRequest
from care_sessions.identity import (
    Client,
    ClientSettings,
    Device,
    Language,
    QuietHours,
    Role,
    StaffUser,
    TextSize,
)
from care_sessions.records import EndReason, SessionKind, SessionParticipant, SessionRecord
from store import tables as t


class SqlStore:
    """Implements care_sessions.ports.CareStore."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    async def close(self) -> None:
        await self._engine.dispose()

    # ---- staff ---------------------------------------------------------------------------

    async def add_staff(self, user: StaffUser) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                t.staff_user.insert().values(
                    id=user.id,
                    username=user.username.lower(),
                    display_name=user.display_name,
                    role=user.role.value,
                    password_hash=user.password_hash,
                    active=user.active,
                    language=user.language.value if user.language else None,
                    created_at=sa.func.now(),
                )
            )

    async def set_staff_language(self, user_id: str, language: Language | None) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                t.staff_user.update()
                .where(t.staff_user.c.id == user_id)
                .values(language=language.value if language else None)
            )

    async def staff_by_username(self, username: str) -> StaffUser | None:
        return await self._one_staff(t.staff_user.c.username == username.lower())

    async def staff_by_id(self, user_id: str) -> StaffUser | None:
        return await self._one_staff(t.staff_user.c.id == user_id)

    async def list_staff(self) -> list[StaffUser]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(t.staff_user.select().order_by(t.staff_user.c.username))
            return [_staff(row) for row in rows]

    async def _one_staff(self, where: Any) -> StaffUser | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(t.staff_user.select().where(where))).first()
            return _staff(row) if row else None

    async def add_web_session(
        self, token_digest: str, user_id: str, csrf_token: str, expires_at: datetime
    ) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                t.web_session.insert().values(
                    token_digest=token_digest,
                    user_id=user_id,
                    csrf_token=csrf_token,
                    created_at=sa.func.now(),
                    expires_at=expires_at,
                )
            )

    async def web_session(self, token_digest: str, now: datetime) -> tuple[StaffUser, str] | None:
        query = (
            sa.select(t.staff_user, t.web_session.c.csrf_token)
            .join(t.web_session, t.web_session.c.user_id == t.staff_user.c.id)
            .where(
                t.web_session.c.token_digest == token_digest,
                t.web_session.c.expires_at > now,
                t.staff_user.c.active.is_(True),
            )
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return (_staff(row), row.csrf_token) if row else None

    async def delete_web_session(self, token_digest: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                t.web_session.delete().where(t.web_session.c.token_digest == token_digest)
            )

    # ---- clients -------------------------------------------------------------------------

    async def add_client(self, client: Client) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                t.client.insert().values(
                    id=client.id,
                    first_name=client.first_name,
                    last_name=client.last_name,
                    created_at=sa.func.now(),
                    **_settings_values(client.settings),
                )
            )

    async def client(self, client_id: str) -> Client | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(t.client.select().where(t.client.c.id == client_id))).first()
        return _client(row) if row else None

    async def list_clients(self) -> list[Client]:
        query = t.client.select().order_by(t.client.c.first_name, t.client.c.last_name)
        async with self._engine.connect() as conn:
            return [_client(row) for row in await conn.execute(query)]

    async def update_client_settings(self, client_id: str, settings: ClientSettings) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                t.client.update()
                .where(t.client.c.id == client_id)
                .values(**_settings_values(settings))
            )

    # ---- devices and pairing -------------------------------------------------------------

    async def add_pairing_code(
        self, code_digest: str, client_id: str, expires_at: datetime, created_by: str
    ) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                t.pairing_code.insert().values(
                    code_digest=code_digest,
                    client_id=client_id,
                    created_by=created_by,
                    created_at=sa.func.now(),
                    expires_at=expires_at,
                )
            )

    async def redeem_pairing_code(
        self, code_digest: str, now: datetime, device: Device, token_digest: str
    ) -> Device:
        async with self._engine.begin() as conn:
            # One UPDATE that only matches a live code: two tablets racing for the same code
            # cannot both win, on SQLite or PostgreSQL.
            used = await conn.execute(
                t.pairing_code.update()
                .where(
                    t.pairing_code.c.code_digest == code_digest,
                    t.pairing_code.c.used_at.is_(None),
                    t.pairing_code.c.expires_at > now,
                )
                .values(used_at=now)
                .returning(t.pairing_code.c.client_id)
            )
            row = used.first()
            if row is None:
                raise PairingFailed("the pairing code is wrong, expired or already used")
            enrolled = Device(
                id=device.id, client_id=row.client_id, created_at=now, label=device.label
            )
            await conn.execute(
                t.device.insert().values(
                    id=enrolled.id,
                    client_id=enrolled.client_id,
                    token_digest=token_digest,
                    label=enrolled.label,
                    created_at=now,
                )
            )
        return enrolled

    async def device_by_token(self, token_digest: str) -> Device | None:
        query = t.device.select().where(t.device.c.token_digest == token_digest)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return device_from_row(row) if row else None

    async def devices_for_client(self, client_id: str) -> list[Device]:
        query = (
            t.device.select()
            .where(t.device.c.client_id == client_id)
            .order_by(t.device.c.created_at)
        )
        async with self._engine.connect() as conn:
            return [device_from_row(row) for row in await conn.execute(query)]

    async def revoke_device(self, device_id: str, at: datetime) -> Device | None:
        async with self._engine.begin() as conn:
            await conn.execute(
                t.device.update()
                .where(t.device.c.id == device_id, t.device.c.revoked_at.is_(None))
                .values(revoked_at=at)
            )
            row = (await conn.execute(t.device.select().where(t.device.c.id == device_id))).first()
        return device_from_row(row) if row else None

    async def touch_device(self, device_id: str, at: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                t.device.update().where(t.device.c.id == device_id).values(last_seen_at=at)
            )

    # ---- session records -----------------------------------------------------------------

    async def session_started(self, record: SessionRecord) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(t.care_session.insert().values(**_session_values(record)))
            if record.participants:
                await conn.execute(
                    t.session_participant.insert(),
                    [
                        {
                            "session_id": record.id,
                            "subject_id": p.subject_id,
                            "kind": p.kind,
                            "display_name": p.display_name,
                        }
                        for p in record.participants
                    ],
                )

    async def session_updated(self, record: SessionRecord) -> None:
        values = _session_values(record)
        del values["id"]
        async with self._engine.begin() as conn:
            await conn.execute(
                t.care_session.update().where(t.care_session.c.id == record.id).values(**values)
            )

    async def session(self, session_id: str) -> SessionRecord | None:
        records = await self._sessions(t.care_session.c.id == session_id, limit=1)
        return records[0] if records else None

    async def recent_sessions(self, limit: int = 50) -> list[SessionRecord]:
        return await self._sessions(sa.true(), limit=limit)

    async def sessions_for_client(self, client_id: str, limit: int = 10_000) -> list[SessionRecord]:
        return await self._sessions(t.care_session.c.client_id == client_id, limit=limit)

    async def _sessions(self, where: Any, limit: int) -> list[SessionRecord]:
        query = (
            t.care_session.select()
            .where(where)
            .order_by(t.care_session.c.ring_at.desc())
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = list(await conn.execute(query))
            ids = [row.id for row in rows]
            people: dict[str, list[SessionParticipant]] = {}
            if ids:
                participants = await conn.execute(
                    t.session_participant.select().where(
                        t.session_participant.c.session_id.in_(ids)
                    )
                )
                for p in participants:
                    people.setdefault(p.session_id, []).append(
                        SessionParticipant(p.kind, p.subject_id, p.display_name)
                    )
        return [_session(row, people.get(row.id, [])) for row in rows]

    async def mark_open_sessions_interrupted(self, at: datetime) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                t.care_session.update()
                .where(t.care_session.c.end_at.is_(None))
                .values(end_at=at, end_reason=EndReason.INTERRUPTED.value)
            )
        return int(result.rowcount or 0)

    # ---- help requests -------------------------------------------------------------------

    async def add_help_request(self, request: HelpRequest) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                t.help_request.insert().values(
                    id=request.id, client_id=request.client_id, created_at=request.created_at
                )
            )

    async def take_help_request(
        self, request_id: str, nurse_id: str, at: datetime, session_id: str
    ) -> HelpRequest:
        async with self._engine.begin() as conn:
            taken = await conn.execute(
                t.help_request.update()
                .where(
                    t.help_request.c.id == request_id,
                    t.help_request.c.taken_by.is_(None),
                    t.help_request.c.cancelled_at.is_(None),
                )
                .values(taken_by=nurse_id, taken_at=at, session_id=session_id)
                .returning(*t.help_request.c)
            )
            row = taken.first()
        if row is None:
            raise InvalidState("this help call was already taken or cancelled")
        return _help(row)

    async def cancel_help_request(self, request_id: str, at: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                t.help_request.update()
                .where(t.help_request.c.id == request_id, t.help_request.c.taken_by.is_(None))
                .values(cancelled_at=at)
            )

    async def help_requests_for_client(self, client_id: str) -> list[HelpRequest]:
        query = (
            t.help_request.select()
            .where(t.help_request.c.client_id == client_id)
            .order_by(t.help_request.c.created_at)
        )
        async with self._engine.connect() as conn:
            return [_help(row) for row in await conn.execute(query)]

    async def erase_optional_client_data(self, client_id: str) -> dict[str, int]:
        """Delete what the law does not require us to keep; the caller revokes tablets first."""
        async with self._engine.begin() as conn:
            codes = await conn.execute(
                t.pairing_code.delete().where(t.pairing_code.c.client_id == client_id)
            )
            devices = await conn.execute(t.device.delete().where(t.device.c.client_id == client_id))
            family = await conn.execute(
                t.family_contact.delete().where(t.family_contact.c.client_id == client_id)
            )
        return {
            "pairing_codes": int(codes.rowcount or 0),
            "devices": int(devices.rowcount or 0),
            "family_contacts": int(family.rowcount or 0),
        }

    async def open_help_requests(self) -> list[HelpRequest]:
        query = (
            t.help_request.select()
            .where(t.help_request.c.taken_by.is_(None), t.help_request.c.cancelled_at.is_(None))
            .order_by(t.help_request.c.created_at)
        )
        async with self._engine.connect() as conn:
            return [_help(row) for row in await conn.execute(query)]


def _staff(row: Any) -> StaffUser:
    return StaffUser(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        password_hash=row.password_hash,
        active=bool(row.active),
        language=Language(row.language) if row.language else None,
    )


def _settings_values(settings: ClientSettings) -> dict[str, Any]:
    quiet = settings.quiet_hours
    return {
        "language": settings.language.value,
        "auto_answer": settings.auto_answer,
        "auto_answer_after_s": settings.auto_answer_after_s,
        "volume": settings.volume,
        "text_size": settings.text_size.value,
        "quiet_from": f"{quiet.start:%H:%M}" if quiet else None,
        "quiet_until": f"{quiet.end:%H:%M}" if quiet else None,
        "family_auto_answer": settings.family_auto_answer,
    }


def _quiet_hours(start: str | None, end: str | None) -> QuietHours | None:
    if not start or not end:
        return None
    return QuietHours(time.fromisoformat(start), time.fromisoformat(end))


def _client(row: Any) -> Client:
    return Client(
        id=row.id,
        first_name=row.first_name,
        last_name=row.last_name,
        settings=ClientSettings(
            language=Language(row.language),
            auto_answer=bool(row.auto_answer),
            auto_answer_after_s=row.auto_answer_after_s,
            volume=row.volume,
            text_size=TextSize(row.text_size),
            quiet_hours=_quiet_hours(row.quiet_from, row.quiet_until),
            family_auto_answer=bool(row.family_auto_answer),
        ),
    )


def device_from_row(row: Any) -> Device:
    """A device table row as the domain's Device (also for the fleet's queries)."""
    return Device(
        id=row.id,
        client_id=row.client_id,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        label=row.label,
    )


def _session_values(record: SessionRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "kind": record.kind.value,
        "client_id": record.client_id,
        "started_by": record.started_by,
        "ended_by": record.ended_by,
        "ring_at": record.ring_at,
        "answer_at": record.answer_at,
        "media_at": record.media_at,
        "end_at": record.end_at,
        "end_reason": record.end_reason.value if record.end_reason else None,
        "interruptions": record.interruptions,
    }


def _session(row: Any, participants: list[SessionParticipant]) -> SessionRecord:
    return SessionRecord(
        id=row.id,
        kind=SessionKind(row.kind),
        client_id=row.client_id,
        started_by=row.started_by,
        ring_at=row.ring_at,
        participants=participants,
        answer_at=row.answer_at,
        media_at=row.media_at,
        end_at=row.end_at,
        ended_by=row.ended_by,
        end_reason=EndReason(row.end_reason) if row.end_reason else None,
        interruptions=row.interruptions,
    )


def _help(row: Any) -> HelpRequest:
    return HelpRequest(
        id=row.id,
        client_id=row.client_id,
        created_at=row.created_at,
        taken_by=row.taken_by,
        taken_at=row.taken_at,
        session_id=row.session_id,
        cancelled_at=row.cancelled_at,
    )
