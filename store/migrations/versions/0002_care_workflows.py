"""care workflows: care plans, check-ins, outcomes, measurements, escalations, attention flags

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=36)
CHECKIN_ID = sa.String(length=64)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "client_care_profile",
        sa.Column("client_id", ID, nullable=False),
        sa.Column("team", sa.String(length=60), nullable=False),
        sa.Column("km_per_visit", sa.Float(), nullable=True),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_client_care_profile_client_id_client")
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_client_care_profile")),
    )

    op.create_table(
        "care_plan_item",
        sa.Column("id", ID, nullable=False),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=60), nullable=False),
        sa.Column("medication", sa.String(length=80), nullable=False),
        sa.Column("dose", sa.String(length=40), nullable=False),
        sa.Column("weekdays", sa.String(length=7), nullable=False),
        sa.Column("times", sa.String(length=60), nullable=False),
        sa.Column("window_min", sa.Integer(), nullable=False),
        sa.Column("remind", sa.Boolean(), nullable=False),
        sa.Column("completed_by", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", ID, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("ended_at", WHEN, nullable=True),
        sa.Column("ended_by", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_care_plan_item_client_id_client")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_plan_item")),
    )
    with op.batch_alter_table("care_plan_item", schema=None) as batch_op:
        batch_op.create_index("ix_care_plan_item_client_id", ["client_id"], unique=False)

    op.create_table(
        "checkin",
        sa.Column("id", CHECKIN_ID, nullable=False),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("plan_item_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=60), nullable=False),
        sa.Column("detail", sa.String(length=130), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("local_time", sa.String(length=5), nullable=False),
        sa.Column("scheduled_at", WHEN, nullable=False),
        sa.Column("opens_at", WHEN, nullable=False),
        sa.Column("closes_at", WHEN, nullable=False),
        sa.Column("window_min", sa.Integer(), nullable=False),
        sa.Column("completed_by", sa.String(length=8), nullable=False),
        sa.Column("remind", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_action_at", WHEN, nullable=True),
        sa.Column("due_at", WHEN, nullable=True),
        sa.Column("missed_at", WHEN, nullable=True),
        sa.Column("escalated_at", WHEN, nullable=True),
        sa.Column("home_visit_at", WHEN, nullable=True),
        sa.Column("done_at", WHEN, nullable=True),
        sa.Column("done_by", ID, nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_checkin_client_id_client")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin")),
    )
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.create_index("ix_checkin_next_action_at", ["next_action_at"], unique=False)
        batch_op.create_index(
            "ix_checkin_client_scheduled", ["client_id", "scheduled_at"], unique=False
        )
        batch_op.create_index(
            "ix_checkin_report",
            ["scheduled_at", "client_id", "status", "outcome", "missed_at", "escalated_at"],
            unique=False,
        )

    op.create_table(
        "checkin_outcome",
        sa.Column("checkin_id", CHECKIN_ID, nullable=False),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("glucose_mmol_l", sa.Float(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("recorded_by", ID, nullable=False),
        sa.Column("recorded_role", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkin.id"], name=op.f("fk_checkin_outcome_checkin_id_checkin")
        ),
        sa.PrimaryKeyConstraint("checkin_id", name=op.f("pk_checkin_outcome")),
    )

    op.create_table(
        "measurement",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("measured_at", WHEN, nullable=False),
        sa.Column("checkin_id", CHECKIN_ID, nullable=True),
        sa.Column("recorded_by", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_measurement_client_id_client")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measurement")),
    )
    with op.batch_alter_table("measurement", schema=None) as batch_op:
        batch_op.create_index(
            "ix_measurement_client_measured", ["client_id", "measured_at"], unique=False
        )

    op.create_table(
        "checkin_event",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("checkin_id", CHECKIN_ID, nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("actor_id", ID, nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_event")),
    )
    with op.batch_alter_table("checkin_event", schema=None) as batch_op:
        batch_op.create_index("ix_checkin_event_checkin_id", ["checkin_id"], unique=False)

    op.create_table(
        "escalation",
        sa.Column("id", sa.String(length=70), nullable=False),
        sa.Column("checkin_id", CHECKIN_ID, nullable=False),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("message", sa.String(length=300), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("home_visit_at", WHEN, nullable=True),
        sa.Column("resolved_at", WHEN, nullable=True),
        sa.Column("resolved_by", ID, nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkin.id"], name=op.f("fk_escalation_checkin_id_checkin")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_escalation_client_id_client")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation")),
        sa.UniqueConstraint("checkin_id", name=op.f("uq_escalation_checkin_id")),
    )
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.create_index("ix_escalation_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_escalation_resolved_at", ["resolved_at"], unique=False)

    op.create_table(
        "attention_flag",
        sa.Column("id", ID, nullable=False),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("rule_id", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("raised_at", WHEN, nullable=False),
        sa.Column("resolved_at", WHEN, nullable=True),
        sa.Column("resolved_by", ID, nullable=True),
        sa.Column("action", sa.String(length=16), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_attention_flag_client_id_client")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attention_flag")),
    )
    with op.batch_alter_table("attention_flag", schema=None) as batch_op:
        batch_op.create_index("ix_attention_flag_client_id", ["client_id"], unique=False)
        batch_op.create_index(
            "ix_attention_flag_rule_resolved", ["rule_id", "resolved_at"], unique=False
        )

    # Reports count help calls by the time they were asked for.
    with op.batch_alter_table("help_request", schema=None) as batch_op:
        batch_op.create_index("ix_help_request_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("help_request", schema=None) as batch_op:
        batch_op.drop_index("ix_help_request_created_at")
    op.drop_table("attention_flag")
    op.drop_table("escalation")
    op.drop_table("checkin_event")
    op.drop_table("measurement")
    op.drop_table("checkin_outcome")
    op.drop_table("checkin")
    op.drop_table("care_plan_item")
    op.drop_table("client_care_profile")
