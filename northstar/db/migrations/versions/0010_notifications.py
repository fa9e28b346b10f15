"""Notifications to people: channels, subscriptions, digests, quiet hours, messages.

Revision ID: 0010
Revises: 0004
Create Date: 2026-11-29
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at() -> sa.Column[datetime]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "notification_channels",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("target", sa.LargeBinary(), nullable=False),
        sa.Column("owner_kind", sa.String(length=4), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=False),
        sa.Column("implicit", sa.Boolean(), server_default="false", nullable=False),
        _created_at(),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('email', 'slack', 'teams', 'apprise')",
            name=op.f("ck_notification_channels_kind"),
        ),
        sa.CheckConstraint(
            "owner_kind IN ('user', 'unit')", name=op.f("ck_notification_channels_owner_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_channels")),
    )
    op.create_index(
        "ix_notification_channels_owner", "notification_channels", ["owner_kind", "owner_id"]
    )
    op.create_index(
        "uq_notification_channels_implicit_owner",
        "notification_channels",
        ["owner_id"],
        unique=True,
        postgresql_where=sa.text("implicit"),
    )
    op.create_table(
        "notification_subscriptions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("channel_id", sa.UUID(), nullable=False),
        sa.Column("scope", sa.String(length=4), nullable=False),
        sa.Column("goal_id", sa.UUID(), nullable=True),
        sa.Column("unit_id", sa.UUID(), nullable=True),
        sa.Column("events", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("min_severity", sa.String(length=8), nullable=False),
        _created_at(),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.CheckConstraint(
            "scope IN ('goal', 'unit', 'mine')", name=op.f("ck_notification_subscriptions_scope")
        ),
        sa.CheckConstraint(
            "min_severity IN ('info', 'warning', 'critical')",
            name=op.f("ck_notification_subscriptions_min_severity"),
        ),
        sa.CheckConstraint(
            "(scope = 'goal') = (goal_id IS NOT NULL) AND (scope = 'unit') = (unit_id IS NOT NULL)",
            name=op.f("ck_notification_subscriptions_scope_target"),
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["notification_channels.id"],
            name=op.f("fk_notification_subscriptions_channel_id_notification_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["goal_id"],
            ["goals.id"],
            name=op.f("fk_notification_subscriptions_goal_id_goals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["org_units.id"],
            name=op.f("fk_notification_subscriptions_unit_id_org_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_subscriptions")),
    )
    for column in ("channel_id", "goal_id", "unit_id"):
        op.create_index(
            op.f(f"ix_notification_subscriptions_{column}"),
            "notification_subscriptions",
            [column],
        )
    op.create_table(
        "notification_digests",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("channel_id", sa.UUID(), nullable=False),
        sa.Column("cadence", sa.String(length=6), nullable=False),
        sa.Column("at", sa.Time(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("weekday", sa.Integer(), server_default="0", nullable=False),
        _created_at(),
        sa.CheckConstraint(
            "cadence IN ('daily', 'weekly')", name=op.f("ck_notification_digests_cadence")
        ),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_notification_digests_weekday")),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["notification_channels.id"],
            name=op.f("fk_notification_digests_channel_id_notification_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_digests")),
        sa.UniqueConstraint(
            "channel_id", "cadence", name="uq_notification_digests_channel_cadence"
        ),
    )
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("quiet_start", sa.Time(), nullable=True),
        sa.Column("quiet_end", sa.Time(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_preferences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_preferences")),
    )
    op.create_table(
        "notification_messages",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("channel_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("group_key", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column(
            "events",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("content", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        sa.CheckConstraint(
            "kind IN ('event', 'digest', 'reminder')", name=op.f("ck_notification_messages_kind")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')",
            name=op.f("ck_notification_messages_status"),
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["notification_channels.id"],
            name=op.f("fk_notification_messages_channel_id_notification_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_messages")),
    )
    op.create_index(
        "uq_notification_messages_open_group",
        "notification_messages",
        ["channel_id", "group_key"],
        unique=True,
        postgresql_where=sa.text("kind = 'event' AND sealed_at IS NULL"),
    )
    op.create_index(
        "uq_notification_messages_once",
        "notification_messages",
        ["channel_id", "group_key"],
        unique=True,
        postgresql_where=sa.text("kind <> 'event'"),
    )
    op.create_index(
        "ix_notification_messages_due",
        "notification_messages",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_notification_messages_channel_id_created_at",
        "notification_messages",
        ["channel_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_table("notification_messages")
    op.drop_table("notification_preferences")
    op.drop_table("notification_digests")
    op.drop_table("notification_subscriptions")
    op.drop_index("ix_notification_channels_owner", table_name="notification_channels")
    op.drop_table("notification_channels")
