"""Webhook secrets apart from their webhook, several at a time (rotation), encrypted.

Existing secrets move over marked `plain:`; the api encrypts them at its next start-up
(the migration has no access to the encryption key). `webhooks.secret` goes.

Revision ID: 0005
Revises: 0010
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_secrets",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("webhook_id", sa.UUID(), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_webhook_secrets_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_secrets")),
    )
    op.create_index(
        "ix_webhook_secrets_webhook_id", "webhook_secrets", ["webhook_id"], unique=False
    )
    op.execute(
        "INSERT INTO webhook_secrets (id, webhook_id, ciphertext, created_at) "
        "SELECT gen_random_uuid(), id, 'plain:' || secret, created_at FROM webhooks"
    )
    op.drop_column("webhooks", "secret")


def downgrade() -> None:
    op.add_column("webhooks", sa.Column("secret", sa.Text(), nullable=True))
    op.execute(
        "UPDATE webhooks w SET secret = s.ciphertext FROM webhook_secrets s "
        "WHERE s.webhook_id = w.id"
    )
    op.drop_index("ix_webhook_secrets_webhook_id", table_name="webhook_secrets")
    op.drop_table("webhook_secrets")
