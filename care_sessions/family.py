"""The family circle: up to five relatives a client chose, each with a personal call link.

A relative has no account: the invitation link carries a 256-bit secret (only its digest is
stored, like a tablet's token) and opening it lets that one person call that one client's
tablet. Staff add and revoke contacts, and only while the client's consent to family calls
is in force. Care always comes first: quiet hours hold family calls back (never care calls),
and a care call ends a family call (care_services/calls.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from care_sessions.clock import Clock
from care_sessions.consent import ConsentLedger, ConsentPurpose
from care_sessions.errors import AuthenticationFailed, InvalidInput, InvalidState, NotFound
from care_sessions.identity import Client, Principal, Role
from care_sessions.records import EndReason
from care_sessions.secrets_kdf import new_token, token_digest

MAX_FAMILY_CONTACTS = 5
NAME_MAX = 60
RELATION_MAX = 40
HELSINKI = ZoneInfo("Europe/Helsinki")


@dataclass(frozen=True)
class FamilyContact:
    id: str
    client_id: str
    name: str
    relation: str  # "daughter", "grandson": how the client's screen introduces the caller
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def caller_label(self) -> str:
        return f"{self.name} ({self.relation})" if self.relation else self.name


@dataclass(frozen=True)
class Invitation:
    contact: FamilyContact
    token: str  # shown once, inside the link; only its digest is stored


class FamilyStore(Protocol):
    async def add_family_contact(self, contact: FamilyContact, token_digest: str) -> None: ...

    async def family_contacts(self, client_id: str) -> list[FamilyContact]:
        """Every contact of the client, revoked ones too, oldest first."""
        ...

    async def family_contact(self, contact_id: str) -> FamilyContact | None: ...

    async def family_contact_by_token(self, token_digest: str) -> FamilyContact | None: ...

    async def revoke_family_contact(
        self, contact_id: str, at: datetime, by: str
    ) -> FamilyContact | None: ...


class FamilyCallRefusal(InvalidState):
    """Why a family call cannot ring now; the family page shows it kindly."""

    code = "family_unavailable"

    def __init__(self, reason: EndReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class FamilyCircle:
    """Adds, revokes and authenticates family contacts; decides when they may call."""

    def __init__(self, store: FamilyStore, consents: ConsentLedger, clock: Clock) -> None:
        self._store = store
        self._consents = consents
        self._clock = clock

    async def contacts(self, client_id: str) -> list[FamilyContact]:
        return await self._store.family_contacts(client_id)

    async def invite(self, client: Client, name: str, relation: str, by: Principal) -> Invitation:
        name, relation = " ".join(name.split()), " ".join(relation.split())
        if not name or len(name) > NAME_MAX:
            raise InvalidInput(f"a contact needs a name of 1-{NAME_MAX} characters")
        if len(relation) > RELATION_MAX:
            raise InvalidInput(f"the relation may be at most {RELATION_MAX} characters")
        # Consent first: a relative's link is itself personal data about the client.
        await self._consents.require(client.id, ConsentPurpose.FAMILY_CALLS)
        active = [c for c in await self._store.family_contacts(client.id) if not c.revoked]
        if len(active) >= MAX_FAMILY_CONTACTS:
            raise InvalidState(
                f"{client.first_name} already has {MAX_FAMILY_CONTACTS} family contacts; "
                "revoke one first"
            )
        token = new_token()
        contact = FamilyContact(
            id=str(uuid.uuid4()),
            client_id=client.id,
            name=name,
            relation=relation,
            created_at=self._clock.now(),
            created_by=by.subject_id,
        )
        await self._store.add_family_contact(contact, token_digest(token))
        return Invitation(contact, token)

    async def revoke(self, client_id: str, contact_id: str, by: Principal) -> FamilyContact:
        contact = await self._store.family_contact(contact_id)
        if contact is None or contact.client_id != client_id:
            raise NotFound("no such family contact")
        if contact.revoked:
            return contact
        revoked = await self._store.revoke_family_contact(
            contact_id, self._clock.now(), by.subject_id
        )
        assert revoked is not None
        return revoked

    async def revoke_all(self, client_id: str, by: Principal) -> list[FamilyContact]:
        """When consent is withdrawn every link goes: contacts are kept only with consent."""
        return [
            await self.revoke(client_id, contact.id, by)
            for contact in await self._store.family_contacts(client_id)
            if not contact.revoked
        ]

    async def contact_for_link(self, token: str) -> FamilyContact:
        """The contact behind an invitation link; revoked and unknown links look the same."""
        contact = await self._store.family_contact_by_token(token_digest(token))
        if contact is None or contact.revoked:
            raise AuthenticationFailed("this call link is not valid any more")
        return contact

    async def principal(self, token: str) -> Principal:
        contact = await self.contact_for_link(token)
        return family_principal(contact)

    async def refusal(self, caller: Principal, client: Client) -> FamilyCallRefusal | None:
        """Why this relative may not ring the client now, or None when they may."""
        contact = await self._store.family_contact(caller.subject_id)
        if contact is None or contact.revoked or contact.client_id != client.id:
            return FamilyCallRefusal(EndReason.REVOKED, "this call link is not valid any more")
        if not await self._consents.allows(client.id, ConsentPurpose.FAMILY_CALLS):
            return FamilyCallRefusal(
                EndReason.UNAVAILABLE,
                f"{client.first_name} does not take family calls at the moment",
            )
        quiet = client.settings.quiet_hours
        local = self._clock.now().astimezone(HELSINKI).time()
        if quiet is not None and quiet.covers(local):
            return FamilyCallRefusal(
                EndReason.QUIET_HOURS,
                f"{client.first_name} is resting now (quiet hours {quiet.label()}); "
                f"please call again after {quiet.end:%H:%M}",
            )
        return None


def family_principal(contact: FamilyContact) -> Principal:
    # The contact id doubles as the "device": revoking a link closes its sockets and calls the
    # way revoking a tablet does (hoiva.runtime.disconnect_device).
    return Principal(
        Role.FAMILY,
        contact.id,
        contact.caller_label,
        device_id=contact.id,
        family_of=contact.client_id,
    )
