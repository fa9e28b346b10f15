"""Goals as code: `applied_objects`, the stable names (and labels) of objects managed as
documents (SPEC §18, docs/goals-as-code.md).

Revision ID: 0013_cli
Revises: 0013_series
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013_cli"
down_revision: str | None = "0013_series"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "applied_objects",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("object_id", sa.String(length=100), nullable=False),
        sa.Column(
            "labels",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("kind", "name", name=op.f("pk_applied_objects")),
        sa.UniqueConstraint("kind", "object_id", name="uq_applied_objects_kind_object_id"),
    )


def downgrade() -> None:
    op.drop_table("applied_objects")
