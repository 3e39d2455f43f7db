"""tablet fleet: latest status per tablet, self-test runs, offline alerts

Revision ID: 0041
Revises: 0040
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0041"
down_revision: str | None = "0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tablet_status",
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("connection", sa.String(length=120), nullable=True),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("app_version", sa.String(length=40), nullable=True),
        sa.Column("connection_type", sa.String(length=16), nullable=True),
        sa.Column("effective_type", sa.String(length=8), nullable=True),
        sa.Column("downlink_mbps", sa.Float(), nullable=True),
        sa.Column("rtt_ms", sa.Float(), nullable=True),
        sa.Column("camera", sa.String(length=8), nullable=True),
        sa.Column("microphone", sa.String(length=8), nullable=True),
        sa.Column("screen", sa.String(length=8), nullable=True),
        sa.Column("battery_pct", sa.Integer(), nullable=True),
        sa.Column("charging", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_tablet_status_device_id_device"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_tablet_status")),
    )
    op.create_index(
        op.f("ix_tablet_status_client_id"), "tablet_status", ["client_id"], unique=False
    )
    op.create_table(
        "tablet_selftest",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=36), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checks", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_tablet_selftest_device_id_device"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_tablet_selftest")),
    )
    op.create_index(
        "ix_tablet_selftest_device_requested",
        "tablet_selftest",
        ["device_id", "requested_at"],
        unique=False,
    )
    op.create_table(
        "tablet_offline_alert",
        sa.Column("alert_id", sa.String(length=100), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_tablet_offline_alert_device_id_device"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_tablet_offline_alert")),
    )
    op.create_index(
        "ix_tablet_offline_alert_device_cleared",
        "tablet_offline_alert",
        ["device_id", "cleared_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_tablet_offline_alert_device_cleared", table_name="tablet_offline_alert")
    op.drop_table("tablet_offline_alert")
    op.drop_index("ix_tablet_selftest_device_requested", table_name="tablet_selftest")
    op.drop_table("tablet_selftest")
    op.drop_index(op.f("ix_tablet_status_client_id"), table_name="tablet_status")
    op.drop_table("tablet_status")
