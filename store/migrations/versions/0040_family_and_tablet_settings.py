"""tablet settings (volume, text size, quiet hours, family auto-answer) and family contacts

Revision ID: 0040
Revises: 0031
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0040"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("client") as batch:
        batch.add_column(sa.Column("volume", sa.Integer(), nullable=False, server_default="80"))
        batch.add_column(
            sa.Column("text_size", sa.String(length=8), nullable=False, server_default="large")
        )
        batch.add_column(sa.Column("quiet_from", sa.String(length=5), nullable=True))
        batch.add_column(sa.Column("quiet_until", sa.String(length=5), nullable=True))
        batch.add_column(
            sa.Column("family_auto_answer", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "family_contact",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("relation", sa.String(length=40), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_family_contact_client_id_client")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_contact")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_family_contact_token_digest")),
    )
    op.create_index(
        op.f("ix_family_contact_client_id"), "family_contact", ["client_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_family_contact_client_id"), table_name="family_contact")
    op.drop_table("family_contact")
    with op.batch_alter_table("client") as batch:
        for column in ("family_auto_answer", "quiet_until", "quiet_from", "text_size", "volume"):
            batch.drop_column(column)
