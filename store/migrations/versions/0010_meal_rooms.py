"""meal rooms: rooms, their members, their meetings and attendance visits

Revision ID: 0010
Revises: 0002
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=36)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "meal_room",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("host_id", ID, nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("weekdays", sa.String(length=7), nullable=True),
        sa.Column("start_time", sa.String(length=5), nullable=True),
        sa.Column("end_time", sa.String(length=5), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["host_id"], ["staff_user.id"], name=op.f("fk_meal_room_host_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meal_room")),
    )
    op.create_index(op.f("ix_meal_room_host_id"), "meal_room", ["host_id"])

    op.create_table(
        "meal_room_member",
        sa.Column("room_id", ID, nullable=False),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_meal_room_member_client_id_client")
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["meal_room.id"], name=op.f("fk_meal_room_member_room_id_meal_room")
        ),
        sa.PrimaryKeyConstraint("room_id", "client_id", name=op.f("pk_meal_room_member")),
    )
    op.create_index(op.f("ix_meal_room_member_client_id"), "meal_room_member", ["client_id"])

    op.create_table(
        "room_session",
        sa.Column("id", ID, nullable=False),
        sa.Column("room_id", ID, nullable=False),
        sa.Column("opened_at", WHEN, nullable=False),
        sa.Column("opened_by", ID, nullable=True),
        sa.Column("scheduled_start", WHEN, nullable=True),
        sa.Column("ended_at", WHEN, nullable=True),
        sa.Column("ended_by", ID, nullable=True),
        sa.Column("end_reason", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["room_id"], ["meal_room.id"], name=op.f("fk_room_session_room_id_meal_room")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_session")),
    )
    op.create_index("ix_room_session_room_opened", "room_session", ["room_id", "opened_at"])

    op.create_table(
        "room_visit",
        sa.Column("session_id", ID, nullable=False),
        sa.Column("subject_id", ID, nullable=False),
        sa.Column("joined_at", WHEN, nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("left_at", WHEN, nullable=True),
        sa.Column("left_reason", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"], ["room_session.id"], name=op.f("fk_room_visit_session_id_room_session")
        ),
        sa.PrimaryKeyConstraint(
            "session_id", "subject_id", "joined_at", name=op.f("pk_room_visit")
        ),
    )


def downgrade() -> None:
    op.drop_table("room_visit")
    op.drop_index("ix_room_session_room_opened", table_name="room_session")
    op.drop_table("room_session")
    op.drop_index(op.f("ix_meal_room_member_client_id"), table_name="meal_room_member")
    op.drop_table("meal_room_member")
    op.drop_index(op.f("ix_meal_room_host_id"), table_name="meal_room")
    op.drop_table("meal_room")
