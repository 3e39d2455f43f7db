"""Tables of the care workflows (migration 0002): plans, check-ins, outcomes, tasks, flags."""

from __future__ import annotations

import sqlalchemy as sa

from store.tables import ID, UtcDateTime, help_request, metadata

CHECKIN_ID = sa.String(64)  # "<plan item uuid>:<yyyy-mm-dd>:<hhmm>"
NOTE = sa.String(500)

client_care_profile = sa.Table(
    "client_care_profile",
    metadata,
    sa.Column("client_id", ID, sa.ForeignKey("client.id"), primary_key=True),
    sa.Column("team", sa.String(60), nullable=False, default=""),
    sa.Column("km_per_visit", sa.Float, nullable=True),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

care_plan_item = sa.Table(
    "care_plan_item",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("client_id", ID, sa.ForeignKey("client.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("label", sa.String(60), nullable=False),
    sa.Column("medication", sa.String(80), nullable=False, default=""),
    sa.Column("dose", sa.String(40), nullable=False, default=""),
    sa.Column("weekdays", sa.String(7), nullable=False),
    sa.Column("times", sa.String(60), nullable=False),
    sa.Column("window_min", sa.Integer, nullable=False),
    sa.Column("remind", sa.Boolean, nullable=False),
    sa.Column("completed_by", sa.String(8), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_by", ID, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("ended_at", UtcDateTime, nullable=True),
    sa.Column("ended_by", ID, nullable=True),
)

checkin = sa.Table(
    "checkin",
    metadata,
    sa.Column("id", CHECKIN_ID, primary_key=True),
    sa.Column("client_id", ID, sa.ForeignKey("client.id"), nullable=False),
    sa.Column("plan_item_id", ID, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("label", sa.String(60), nullable=False),
    sa.Column("detail", sa.String(130), nullable=False),
    sa.Column("local_date", sa.Date, nullable=False),
    sa.Column("local_time", sa.String(5), nullable=False),
    sa.Column("scheduled_at", UtcDateTime, nullable=False),
    sa.Column("opens_at", UtcDateTime, nullable=False),
    sa.Column("closes_at", UtcDateTime, nullable=False),
    sa.Column("window_min", sa.Integer, nullable=False),
    sa.Column("completed_by", sa.String(8), nullable=False),
    sa.Column("remind", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_action_at", UtcDateTime, nullable=True),
    sa.Column("due_at", UtcDateTime, nullable=True),
    sa.Column("missed_at", UtcDateTime, nullable=True),
    sa.Column("escalated_at", UtcDateTime, nullable=True),
    sa.Column("home_visit_at", UtcDateTime, nullable=True),
    sa.Column("done_at", UtcDateTime, nullable=True),
    sa.Column("done_by", ID, nullable=True),
    sa.Column("outcome", sa.String(16), nullable=True),
    sa.Index("ix_checkin_next_action_at", "next_action_at"),
    sa.Index("ix_checkin_client_scheduled", "client_id", "scheduled_at"),
    # Reports read a period of check-ins by scheduled time; with these columns in the index
    # SQLite answers them from the index alone (PostgreSQL with an index-only scan).
    sa.Index(
        "ix_checkin_report",
        "scheduled_at",
        "client_id",
        "status",
        "outcome",
        "missed_at",
        "escalated_at",
    ),
)

checkin_outcome = sa.Table(
    "checkin_outcome",
    metadata,
    # One outcome per check-in: a repeated "taken" can never be stored twice.
    sa.Column("checkin_id", CHECKIN_ID, sa.ForeignKey("checkin.id"), primary_key=True),
    sa.Column("client_id", ID, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("glucose_mmol_l", sa.Float, nullable=True),
    sa.Column("note", NOTE, nullable=False, default=""),
    sa.Column("recorded_by", ID, nullable=False),
    sa.Column("recorded_role", sa.String(16), nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
)

measurement = sa.Table(
    "measurement",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("client_id", ID, sa.ForeignKey("client.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("unit", sa.String(8), nullable=False),
    sa.Column("measured_at", UtcDateTime, nullable=False),
    sa.Column("checkin_id", CHECKIN_ID, nullable=True),
    sa.Column("recorded_by", ID, nullable=False),
    sa.Index("ix_measurement_client_measured", "client_id", "measured_at"),
)

checkin_event = sa.Table(
    "checkin_event",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("checkin_id", CHECKIN_ID, nullable=False, index=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("from_status", sa.String(16), nullable=False),
    sa.Column("to_status", sa.String(16), nullable=False),
    sa.Column("actor_role", sa.String(16), nullable=False),
    sa.Column("actor_id", ID, nullable=True),
    sa.Column("detail", sa.String(200), nullable=False, default=""),
)

escalation = sa.Table(
    "escalation",
    metadata,
    sa.Column("id", sa.String(70), primary_key=True),
    sa.Column("checkin_id", CHECKIN_ID, sa.ForeignKey("checkin.id"), nullable=False, unique=True),
    sa.Column("client_id", ID, sa.ForeignKey("client.id"), nullable=False),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("message", sa.String(300), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("home_visit_at", UtcDateTime, nullable=True),
    sa.Column("resolved_at", UtcDateTime, nullable=True),
    sa.Column("resolved_by", ID, nullable=True),
    sa.Column("resolution", sa.String(16), nullable=True),
    sa.Column("note", NOTE, nullable=False, default=""),
    sa.Index("ix_escalation_created_at", "created_at"),
    sa.Index("ix_escalation_resolved_at", "resolved_at"),
)

attention_flag = sa.Table(
    "attention_flag",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("client_id", ID, sa.ForeignKey("client.id"), nullable=False, index=True),
    sa.Column("rule_id", sa.String(40), nullable=False),
    sa.Column("reason", sa.String(300), nullable=False),
    sa.Column("raised_at", UtcDateTime, nullable=False),
    sa.Column("resolved_at", UtcDateTime, nullable=True),
    sa.Column("resolved_by", ID, nullable=True),
    sa.Column("action", sa.String(16), nullable=True),
    sa.Column("note", NOTE, nullable=False, default=""),
    sa.Index("ix_attention_flag_rule_resolved", "rule_id", "resolved_at"),
)

# Reports count help calls by the time they were asked for (the table is from 0001).
sa.Index("ix_help_request_created_at", help_request.c.created_at)
