"""People: users, sessions, invitations, unit memberships, the audit trail, key owners and
expiry, and `owner_id` on units, KPIs and goals.

Revision ID: 0007
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.text("now()")


def _created_at(name: str = "created_at") -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=_NOW, nullable=False)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="active", nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        _created_at(),
        _created_at("updated_at"),
        sa.CheckConstraint(
            "role IN ('admin', 'editor', 'member', 'viewer')", name=op.f("ck_users_role")
        ),
        sa.CheckConstraint("status IN ('active', 'deactivated')", name=op.f("ck_users_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_index("uq_users_email_lower", "users", [sa.text("lower(email)")], unique=True)

    op.create_table(
        "user_sessions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf_hash", sa.String(length=64), nullable=False),
        _created_at(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_sessions_token_hash")),
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"])

    op.create_table(
        "invitations",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        _created_at(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_invitations_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
    )
    op.create_index(op.f("ix_invitations_user_id"), "invitations", ["user_id"])

    op.create_table(
        "unit_members",
        sa.Column("unit_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        _created_at(),
        sa.CheckConstraint("role IN ('lead', 'member')", name=op.f("ck_unit_members_role")),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["org_units.id"],
            name=op.f("fk_unit_members_unit_id_org_units"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_unit_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("unit_id", "user_id", name=op.f("pk_unit_members")),
    )
    op.create_index(op.f("ix_unit_members_user_id"), "unit_members", ["user_id"])

    op.create_table(
        "audit_events",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("actor_kind", sa.String(length=4), nullable=False),
        sa.Column("actor_id", sa.UUID(), nullable=False),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("resource_type", sa.String(length=40), nullable=False),
        sa.Column("resource_id", sa.String(length=100), nullable=False),
        sa.Column(
            "changes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("request_id", sa.String(length=100), nullable=True),
        sa.CheckConstraint(
            "actor_kind IN ('user', 'key')", name=op.f("ck_audit_events_actor_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at", "id"])
    op.create_index(
        "ix_audit_events_resource", "audit_events", ["resource_type", "resource_id", "at"]
    )
    op.create_index("ix_audit_events_actor", "audit_events", ["actor_id", "at"])

    op.add_column("api_keys", sa.Column("user_id", sa.UUID(), nullable=True))
    op.add_column("api_keys", sa.Column("created_by_kind", sa.String(length=4), nullable=True))
    op.add_column("api_keys", sa.Column("created_by_id", sa.UUID(), nullable=True))
    op.add_column("api_keys", sa.Column("created_by_name", sa.String(length=200), nullable=True))
    op.add_column("api_keys", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("api_keys", sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f("ix_api_keys_user_id"), "api_keys", ["user_id"])
    op.create_foreign_key(
        op.f("fk_api_keys_user_id_users"),
        "api_keys",
        "users",
        ["user_id"],
        ["id"],
        ondelete="CASCADE",
    )
    # Keys made before this revision stored the first 8 secret characters of a key not in
    # the `ns_` format as its prefix; show 8 characters of its digest instead, as new
    # keys of that kind do (`northstar.auth.keys.prefix_of`).
    op.execute(
        "UPDATE api_keys SET key_prefix = substr(key_hash, 1, 8) "
        "WHERE key_prefix !~ '^[0-9a-f]{8}$'"
    )

    for table in ("org_units", "kpis", "goals"):
        op.add_column(table, sa.Column("owner_id", sa.UUID(), nullable=True))
        op.create_index(op.f(f"ix_{table}_owner_id"), table, ["owner_id"])
        op.create_foreign_key(
            op.f(f"fk_{table}_owner_id_users"),
            table,
            "users",
            ["owner_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    for table in ("goals", "kpis", "org_units"):
        op.drop_constraint(op.f(f"fk_{table}_owner_id_users"), table, type_="foreignkey")
        op.drop_index(op.f(f"ix_{table}_owner_id"), table_name=table)
        op.drop_column(table, "owner_id")
    op.drop_constraint(op.f("fk_api_keys_user_id_users"), "api_keys", type_="foreignkey")
    op.drop_index(op.f("ix_api_keys_user_id"), table_name="api_keys")
    for column in (
        "last_used_at",
        "expires_at",
        "created_by_name",
        "created_by_id",
        "created_by_kind",
        "user_id",
    ):
        op.drop_column("api_keys", column)
    op.drop_table("audit_events")
    op.drop_table("unit_members")
    op.drop_table("invitations")
    op.drop_table("user_sessions")
    op.drop_index("uq_users_email_lower", table_name="users")
    op.drop_table("users")
