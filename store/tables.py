"""Table definitions; Alembic migrations in migrations/versions create and evolve them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes on every engine (SQLite stores none of the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = sa.String(36)

staff_user = sa.Table(
    "staff_user",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("username", sa.String(80), nullable=False, unique=True),
    sa.Column("display_name", sa.String(120), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("language", sa.String(2), nullable=True),
)

web_session = sa.Table(
    "web_session",
    metadata,
    sa.Column("token_digest", sa.String(64), primary_key=True),
    sa.Column("user_id", ID, sa.ForeignKey("staff_user.id"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
)

client = sa.Table(
    "client",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("first_name", sa.String(80), nullable=False),
    sa.Column("last_name", sa.String(80), nullable=False),
    sa.Column("language", sa.String(2), nullable=False),
    sa.Column("auto_answer", sa.Boolean, nullable=False),
    sa.Column("auto_answer_after_s", sa.Integer, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("volume", sa.Integer, nullable=False, server_default="80"),
    sa.Column("text_size", sa.String(8), nullable=False, server_default="large"),
    # Local wall-clock "HH:MM" (Europe/Helsinki); both set or both null.
    sa.Column("quiet_from", sa.String(5), nullable=True),
    sa.Column("quiet_until", sa.String(5), nullable=True),
    sa.Column("family_auto_answer", sa.Boolean, nullable=False, server_default=sa.false()),
)

family_contact = sa.Table(
    "family_contact",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("client_id", ID, sa.ForeignKey("client.id"), nullable=False, index=True),
    sa.Column("name", sa.String(60), nullable=False),
    sa.Column("relation", sa.String(40), nullable=False),
    # Only the digest of the invitation link's secret is kept, like device tokens.
    sa.Column("token_digest", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("created_by", ID, nullable=False),
    sa.Column("revoked_at", UtcDateTime, nullable=True),
    sa.Column("revoked_by", ID, nullable=True),
)

pairing_code = sa.Table(
    "pairing_code",
    metadata,
    sa.Column("code_digest", sa.String(64), primary_key=True),
    sa.Column("client_id", ID, sa.ForeignKey("client.id"), nullable=False),
    sa.Column("created_by", ID, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("used_at", UtcDateTime, nullable=True),
)

device = sa.Table(
    "device",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("client_id", ID, sa.ForeignKey("client.id"), nullable=False, index=True),
    sa.Column("token_digest", sa.String(64), nullable=False, unique=True),
    sa.Column("label", sa.String(80), nullable=False, default=""),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("revoked_at", UtcDateTime, nullable=True),
    sa.Column("last_seen_at", UtcDateTime, nullable=True),
)

care_session = sa.Table(
    "care_session",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("client_id", ID, sa.ForeignKey("client.id"), nullable=False),
    sa.Column("started_by", ID, nullable=False),
    sa.Column("ended_by", ID, nullable=True),
    sa.Column("ring_at", UtcDateTime, nullable=False),
    sa.Column("answer_at", UtcDateTime, nullable=True),
    sa.Column("media_at", UtcDateTime, nullable=True),
    sa.Column("end_at", UtcDateTime, nullable=True),
    sa.Column("end_reason", sa.String(16), nullable=True),
    # Times a survivor carried the call on after its media server died (migration 0030).
    sa.Column("interruptions", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_care_session_client_ring", "client_id", "ring_at"),
    sa.Index("ix_care_session_ring_at", "ring_at"),
)

session_participant = sa.Table(
    "session_participant",
    metadata,
    sa.Column("session_id", ID, sa.ForeignKey("care_session.id"), primary_key=True),
    sa.Column("subject_id", ID, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("display_name", sa.String(120), nullable=False),
)

help_request = sa.Table(
    "help_request",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("client_id", ID, sa.ForeignKey("client.id"), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("taken_by", ID, nullable=True),
    sa.Column("taken_at", UtcDateTime, nullable=True),
    sa.Column("session_id", ID, nullable=True),
    sa.Column("cancelled_at", UtcDateTime, nullable=True),
)
