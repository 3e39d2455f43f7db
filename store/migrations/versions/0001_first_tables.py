"""first tables: staff, clients, devices, sessions, help calls

Revision ID: 0001
Revises:
Create Date: 2026-11-30 13:55:42.521014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "client",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("first_name", sa.String(length=80), nullable=False),
        sa.Column("last_name", sa.String(length=80), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("auto_answer", sa.Boolean(), nullable=False),
        sa.Column("auto_answer_after_s", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client")),
    )
    op.create_table(
        "staff_user",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_user")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_user_username")),
    )
    op.create_table(
        "care_session",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("started_by", sa.String(length=36), nullable=False),
        sa.Column("ended_by", sa.String(length=36), nullable=True),
        sa.Column("ring_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("media_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_care_session_client_id_client")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_session")),
    )
    with op.batch_alter_table("care_session", schema=None) as batch_op:
        batch_op.create_index("ix_care_session_client_ring", ["client_id", "ring_at"], unique=False)
        batch_op.create_index("ix_care_session_ring_at", ["ring_at"], unique=False)

    op.create_table(
        "device",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_device_client_id_client")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_device_token_digest")),
    )
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_client_id"), ["client_id"], unique=False)

    op.create_table(
        "help_request",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_by", sa.String(length=36), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_help_request_client_id_client")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_help_request")),
    )
    op.create_table(
        "pairing_code",
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_pairing_code_client_id_client")
        ),
        sa.PrimaryKeyConstraint("code_digest", name=op.f("pk_pairing_code")),
    )
    op.create_table(
        "web_session",
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_user.id"], name=op.f("fk_web_session_user_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("token_digest", name=op.f("pk_web_session")),
    )
    op.create_table(
        "session_participant",
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["care_session.id"],
            name=op.f("fk_session_participant_session_id_care_session"),
        ),
        sa.PrimaryKeyConstraint("session_id", "subject_id", name=op.f("pk_session_participant")),
    )


def downgrade() -> None:

    op.drop_table("session_participant")
    op.drop_table("web_session")
    op.drop_table("pairing_code")
    op.drop_table("help_request")
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_client_id"))

    op.drop_table("device")
    with op.batch_alter_table("care_session", schema=None) as batch_op:
        batch_op.drop_index("ix_care_session_ring_at")
        batch_op.drop_index("ix_care_session_client_ring")

    op.drop_table("care_session")
    op.drop_table("staff_user")
    op.drop_table("client")
