"""Tables of the tablet fleet (migration 0041): latest status, self-tests, offline alerts.

Every row belongs to a device and goes with it (ON DELETE CASCADE): erasing a client's
optional data deletes their tablets, and what the fleet knew about them is no record
anyone must keep.
"""

from __future__ import annotations

import sqlalchemy as sa

from store.tables import ID, UtcDateTime, metadata

ALERT_ID = sa.String(100)
_DEVICE_FK = sa.ForeignKey("device.id", ondelete="CASCADE")

tablet_status = sa.Table(
    "tablet_status",
    metadata,
    sa.Column("device_id", ID, _DEVICE_FK, primary_key=True),
    sa.Column("client_id", ID, nullable=False, index=True),
    # "<instance>:<connection>" of the socket holding the tablet; null when none does.
    sa.Column("connection", sa.String(120), nullable=True),
    sa.Column("connected_at", UtcDateTime, nullable=True),
    # The latest heartbeat; null until the first one arrives.
    sa.Column("heartbeat_at", UtcDateTime, nullable=True),
    sa.Column("app_version", sa.String(40), nullable=True),
    sa.Column("connection_type", sa.String(16), nullable=True),
    sa.Column("effective_type", sa.String(8), nullable=True),
    sa.Column("downlink_mbps", sa.Float, nullable=True),
    sa.Column("rtt_ms", sa.Float, nullable=True),
    sa.Column("camera", sa.String(8), nullable=True),
    sa.Column("microphone", sa.String(8), nullable=True),
    sa.Column("screen", sa.String(8), nullable=True),
    sa.Column("battery_pct", sa.Integer, nullable=True),
    sa.Column("charging", sa.Boolean, nullable=True),
)

tablet_selftest = sa.Table(
    "tablet_selftest",
    metadata,
    sa.Column("run_id", ID, primary_key=True),
    sa.Column("device_id", ID, sa.ForeignKey("device.id", ondelete="CASCADE"), nullable=False),
    sa.Column("client_id", ID, nullable=False),
    sa.Column("trigger", sa.String(16), nullable=False),
    sa.Column("requested_by", ID, nullable=False),
    sa.Column("requested_at", UtcDateTime, nullable=False),
    sa.Column("answered_at", UtcDateTime, nullable=True),
    # [{"name", "outcome", "detail"}, ...] in the fleet page's order; null until answered.
    sa.Column("checks", sa.JSON, nullable=True),
    sa.Index("ix_tablet_selftest_device_requested", "device_id", "requested_at"),
)

tablet_offline_alert = sa.Table(
    "tablet_offline_alert",
    metadata,
    # Deterministic (care_sessions.fleet.offline_alert_id): one row per silence, whichever
    # instance noticed it first.
    sa.Column("alert_id", ALERT_ID, primary_key=True),
    sa.Column("device_id", ID, sa.ForeignKey("device.id", ondelete="CASCADE"), nullable=False),
    sa.Column("client_id", ID, nullable=False),
    sa.Column("last_seen_at", UtcDateTime, nullable=False),
    sa.Column("raised_at", UtcDateTime, nullable=False),
    sa.Column("cleared_at", UtcDateTime, nullable=True),
    sa.Index("ix_tablet_offline_alert_device_cleared", "device_id", "cleared_at"),
)
