"""A demo organisation: staff with known passwords, six clients with enrolled tablets."""

from __future__ import annotations

import json
import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from care_sessions.identity import Client, ClientSettings, Language, Role, StaffUser
from care_sessions.secrets_kdf import hash_password
from hoiva.demo_care import seed_demo_care
from hoiva.demo_rooms import seed_demo_rooms
from hoiva.services import Services


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: Role
    display_name: str


DEMO_STAFF = (
    DemoLogin("nina", "nina-demo-pass", Role.NURSE, "Nina Nurmi"),
    DemoLogin("noora", "noora-demo-pass", Role.NURSE, "Noora Laine"),
    DemoLogin("hannu", "hannu-demo-pass", Role.HOST, "Hannu Host"),
    DemoLogin("admin", "admin-demo-pass", Role.ADMIN, "Aila Admin"),
)

DEMO_CLIENTS = (
    ("Aino", "Korhonen", Language.FI, True),
    ("Eino", "Virtanen", Language.FI, True),
    ("Helmi", "Mäkinen", Language.FI, False),
    ("Brita", "Lindqvist", Language.SV, True),
    ("Toivo", "Nieminen", Language.FI, False),
    ("Margaret", "Smith", Language.EN, True),
)


@dataclass(frozen=True)
class DemoTablet:
    client_id: str
    first_name: str
    token: str


async def seed_demo(services: Services, tokens_file: Path) -> list[DemoTablet]:
    """Idempotent: the second run finds the organisation and reuses the tablets' tokens."""
    store = services.store
    if await store.staff_by_username(DEMO_STAFF[0].username) is None:
        for login in DEMO_STAFF:
            await store.add_staff(
                StaffUser(
                    id=str(uuid.uuid4()),
                    username=login.username,
                    display_name=login.display_name,
                    role=login.role,
                    password_hash=hash_password(login.password),
                )
            )
    saved = _read_tokens(tokens_file)
    if saved is not None:
        await seed_demo_care(services)
        await seed_demo_rooms(services)
        return saved

    admin = await store.staff_by_username("admin")
    assert admin is not None
    tablets = []
    for first, last, language, auto_answer in DEMO_CLIENTS:
        client = Client(
            id=str(uuid.uuid4()),
            first_name=first,
            last_name=last,
            settings=ClientSettings(
                language=language, auto_answer=auto_answer, auto_answer_after_s=5
            ),
        )
        await store.add_client(client)
        issued = await services.auth.issue_pairing_code(client.id, admin.id)
        enrolled = await services.auth.redeem_pairing_code(issued.code, label="demo tablet")
        tablets.append(DemoTablet(client.id, first, enrolled.token))
    tokens_file.parent.mkdir(parents=True, exist_ok=True)
    # Demo only: simulated tablets keep their tokens here, as a real tablet keeps its own.
    _write_tokens(tokens_file, tablets)
    await seed_demo_care(services)
    await seed_demo_rooms(services)
    return tablets


def _read_tokens(tokens_file: Path) -> list[DemoTablet] | None:
    if not tokens_file.exists():
        return None
    return [DemoTablet(**entry) for entry in json.loads(tokens_file.read_text())]


def _write_tokens(tokens_file: Path, tablets: list[DemoTablet]) -> None:
    fd = os.open(tokens_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump([t.__dict__ for t in tablets], handle, indent=2)


def demo_probe_token(path: Path) -> str:
    """The demo's probe secret: made once, kept beside the demo's database (0600)."""
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token)
    return token
