"""Pipeline hardening: parked outbox events, and the sources an API key may write.

Revision ID: 0004
Revises: 0008
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("outbox", sa.Column("parked_reason", sa.Text(), nullable=True))
    op.drop_index(
        "ix_outbox_pending", table_name="outbox", postgresql_where=sa.text("relayed_at IS NULL")
    )
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["id"],
        unique=False,
        postgresql_where=sa.text("relayed_at IS NULL AND parked_at IS NULL"),
    )
    op.add_column(
        "api_keys",
        sa.Column(
            "sources",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("api_keys", "sources")
    op.drop_index(
        "ix_outbox_pending",
        table_name="outbox",
        postgresql_where=sa.text("relayed_at IS NULL AND parked_at IS NULL"),
    )
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["id"],
        unique=False,
        postgresql_where=sa.text("relayed_at IS NULL"),
    )
    op.drop_column("outbox", "parked_reason")
    op.drop_column("outbox", "parked_at")
