"""Tables of the access log and the consent ledger (migration 0020). Both are append-only."""

from __future__ import annotations

import sqlalchemy as sa

from store.tables import ID, UtcDateTime, metadata

access_log = sa.Table(
    "access_log",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor_role", sa.String(16), nullable=False),
    sa.Column("actor_id", ID, nullable=False),
    sa.Column("actor_name", sa.String(120), nullable=False),
    # No foreign key: the log outlives erasure of anything it mentions.
    sa.Column("client_id", ID, nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("data", sa.String(20), nullable=False),
    sa.Column("purpose", sa.String(20), nullable=False),
    sa.Column("detail", sa.String(200), nullable=False),
    sa.Index("ix_access_log_client_at", "client_id", "at"),
    sa.Index("ix_access_log_actor_at", "actor_id", "at"),
)

consent_record = sa.Table(
    "consent_record",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("client_id", ID, sa.ForeignKey("client.id"), nullable=False),
    sa.Column("purpose", sa.String(30), nullable=False),
    sa.Column("granted", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
    sa.Column("recorded_by", ID, nullable=False),
    sa.Column("note", sa.String(500), nullable=False),
    sa.UniqueConstraint("client_id", "purpose", "version", name="uq_consent_version"),
)
