"""media insight: quality summaries, check-in face evidence, call recordings

Revision ID: 0031
Revises: 0030
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "session_quality",
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("participant", sa.String(length=16), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("loss_pct_avg", sa.Float(), nullable=False),
        sa.Column("loss_pct_max", sa.Float(), nullable=False),
        sa.Column("rtt_ms_avg", sa.Float(), nullable=True),
        sa.Column("jitter_ms_avg", sa.Float(), nullable=False),
        sa.Column("fps_avg", sa.Float(), nullable=False),
        sa.Column("freezes", sa.Integer(), nullable=False),
        sa.Column("poor_share", sa.Float(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["care_session.id"],
            name=op.f("fk_session_quality_session_id_care_session"),
        ),
        sa.PrimaryKeyConstraint("session_id", "participant", name=op.f("pk_session_quality")),
    )
    op.create_table(
        "checkin_face_evidence",
        sa.Column("checkin_id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("face_seen", sa.Boolean(), nullable=False),
        sa.Column("frames_analysed", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["care_session.id"],
            name=op.f("fk_checkin_face_evidence_session_id_care_session"),
        ),
        sa.PrimaryKeyConstraint("checkin_id", name=op.f("pk_checkin_face_evidence")),
    )
    op.create_table(
        "call_recording",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("started_by", sa.String(length=36), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("video_frames", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=80), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["care_session.id"],
            name=op.f("fk_call_recording_session_id_care_session"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_recording")),
    )
    op.create_index("ix_call_recording_session_id", "call_recording", ["session_id"])
    op.create_index("ix_call_recording_expires_at", "call_recording", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_call_recording_expires_at", table_name="call_recording")
    op.drop_index("ix_call_recording_session_id", table_name="call_recording")
    op.drop_table("call_recording")
    op.drop_table("checkin_face_evidence")
    op.drop_table("session_quality")
