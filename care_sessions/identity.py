"""Who is acting: staff accounts, clients, their tablets, and the principal behind a request."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, time


class Role(enum.StrEnum):
    NURSE = "nurse"
    HOST = "host"
    ADMIN = "admin"
    TABLET = "tablet"
    FAMILY = "family"
    # The synthetic probe (`hoiva probe`): may run echo tests, nothing else.
    PROBE = "probe"
    ANONYMOUS = "anonymous"


STAFF_ROLES = frozenset({Role.NURSE, Role.HOST, Role.ADMIN})


class Language(enum.StrEnum):
    FI = "fi"
    SV = "sv"
    EN = "en"


@dataclass(frozen=True)
class StaffUser:
    id: str
    username: str
    display_name: str
    role: Role
    password_hash: str
    active: bool = True
    # The staff pages' language the person chose; None follows the browser.
    language: Language | None = None


class TextSize(enum.StrEnum):
    LARGE = "large"
    LARGER = "larger"
    LARGEST = "largest"


@dataclass(frozen=True)
class QuietHours:
    """Local hours when family calls do not ring; care calls always do. May wrap midnight."""

    start: time
    end: time

    def covers(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def label(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"  # noqa: RUF001


@dataclass(frozen=True)
class ClientSettings:
    """What the client (or the care team for them) chose for the tablet."""

    language: Language = Language.FI
    auto_answer: bool = False
    auto_answer_after_s: int = 10
    volume: int = 80  # percent of the tablet's ringing and call volume
    text_size: TextSize = TextSize.LARGE
    quiet_hours: QuietHours | None = None
    # Family calls ring by default; a client who cannot reach the screen may want them
    # answered for them, like care calls.
    family_auto_answer: bool = False


@dataclass(frozen=True)
class Client:
    id: str
    first_name: str
    last_name: str
    settings: ClientSettings = field(default_factory=ClientSettings)

    @property
    def display_name(self) -> str:
        """ "Aino K." - how staff screens name a client without spelling out the full name."""
        initial = f" {self.last_name[:1]}." if self.last_name else ""
        return f"{self.first_name}{initial}"


@dataclass(frozen=True)
class Device:
    id: str
    client_id: str
    created_at: datetime
    revoked_at: datetime | None = None
    label: str = ""

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a route or the owner of a socket."""

    role: Role
    subject_id: str
    display_name: str
    device_id: str | None = None
    # A family contact calls exactly one client's tablet: that client's id.
    family_of: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def client_id(self) -> str | None:
        """The client a tablet acts for, or a relative may call; staff act for none."""
        if self.role is Role.TABLET:
            return self.subject_id
        return self.family_of if self.role is Role.FAMILY else None


ANONYMOUS = Principal(role=Role.ANONYMOUS, subject_id="", display_name="")
