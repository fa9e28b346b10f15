"""Plans and check-ins (SPEC §12): cycles, initiatives and milestones, check-ins, strategy
on org units, goal perspective/cadence/cycle/carried_from, KPI source and category, and
the `plan` alert kind.

Initiative owners are users (`owner_id`, SET NULL when the user is deleted).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS_BEFORE = "kind IN ('status', 'forecast', 'stale_data')"
_KINDS_AFTER = "kind IN ('status', 'forecast', 'stale_data', 'plan')"


def _timestamps() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "cycles",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due", sa.DateTime(timezone=True), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("due > start", name=op.f("ck_cycles_period")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cycles")),
        sa.UniqueConstraint("name", name=op.f("uq_cycles_name")),
    )

    op.add_column("org_units", sa.Column("vision", sa.Text(), nullable=True))
    op.add_column("org_units", sa.Column("mission", sa.Text(), nullable=True))
    op.add_column(
        "org_units",
        sa.Column(
            "values", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False
        ),
    )

    op.add_column(
        "kpis", sa.Column("source", sa.String(length=10), server_default="events", nullable=False)
    )
    op.add_column("kpis", sa.Column("category", sa.String(length=50), nullable=True))
    op.create_check_constraint(op.f("ck_kpis_source"), "kpis", "source IN ('events', 'manual')")

    op.add_column("goals", sa.Column("perspective", sa.String(length=50), nullable=True))
    op.add_column("goals", sa.Column("check_in_cadence", sa.Interval(), nullable=True))
    op.add_column("goals", sa.Column("last_check_in_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "goals", sa.Column("plan_summary", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    op.add_column("goals", sa.Column("cycle_id", sa.UUID(), nullable=True))
    op.add_column("goals", sa.Column("carried_from", sa.UUID(), nullable=True))
    op.create_index(op.f("ix_goals_cycle_id"), "goals", ["cycle_id"], unique=False)
    op.create_foreign_key(
        op.f("fk_goals_cycle_id_cycles"),
        "goals",
        "cycles",
        ["cycle_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.create_foreign_key(
        op.f("fk_goals_carried_from_goals"),
        "goals",
        "goals",
        ["carried_from"],
        ["id"],
        ondelete="SET NULL",
    )

    op.create_table(
        "initiatives",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("goal_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=True),
        sa.Column("unit_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=12), server_default="planned", nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("budget_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("budget_currency", sa.String(length=3), nullable=True),
        sa.Column("spent", sa.Numeric(precision=18, scale=2), server_default="0", nullable=False),
        sa.Column("carried_from", sa.UUID(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "status IN ('planned', 'in_progress', 'blocked', 'done', 'cancelled')",
            name=op.f("ck_initiatives_status"),
        ),
        sa.CheckConstraint(
            "(budget_amount IS NULL) = (budget_currency IS NULL)",
            name=op.f("ck_initiatives_budget"),
        ),
        sa.CheckConstraint(
            "due IS NULL OR start IS NULL OR due >= start", name=op.f("ck_initiatives_period")
        ),
        sa.ForeignKeyConstraint(
            ["carried_from"],
            ["initiatives.id"],
            name=op.f("fk_initiatives_carried_from_initiatives"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["goal_id"], ["goals.id"], name=op.f("fk_initiatives_goal_id_goals"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_initiatives_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["org_units.id"],
            name=op.f("fk_initiatives_unit_id_org_units"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_initiatives")),
    )
    op.create_index(op.f("ix_initiatives_goal_id"), "initiatives", ["goal_id"], unique=False)
    op.create_index(op.f("ix_initiatives_unit_id"), "initiatives", ["unit_id"], unique=False)
    op.create_index(op.f("ix_initiatives_owner_id"), "initiatives", ["owner_id"], unique=False)

    op.create_table(
        "milestones",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("initiative_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["initiative_id"],
            ["initiatives.id"],
            name=op.f("fk_milestones_initiative_id_initiatives"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestones")),
    )
    op.create_index(
        op.f("ix_milestones_initiative_id"), "milestones", ["initiative_id"], unique=False
    )

    op.create_table(
        "check_ins",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("goal_id", sa.UUID(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column("confidence", sa.SmallInteger(), nullable=False),
        sa.Column("blockers", sa.Text(), nullable=True),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("confidence BETWEEN 1 AND 10", name=op.f("ck_check_ins_confidence")),
        sa.ForeignKeyConstraint(
            ["goal_id"], ["goals.id"], name=op.f("fk_check_ins_goal_id_goals"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_ins")),
    )
    op.create_index("ix_check_ins_goal_id_at", "check_ins", ["goal_id", "at"], unique=False)

    op.drop_constraint(op.f("ck_alerts_kind"), "alerts", type_="check")
    op.create_check_constraint(op.f("ck_alerts_kind"), "alerts", _KINDS_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM alerts WHERE kind = 'plan'")
    op.drop_constraint(op.f("ck_alerts_kind"), "alerts", type_="check")
    op.create_check_constraint(op.f("ck_alerts_kind"), "alerts", _KINDS_BEFORE)
    op.drop_index("ix_check_ins_goal_id_at", table_name="check_ins")
    op.drop_table("check_ins")
    op.drop_index(op.f("ix_milestones_initiative_id"), table_name="milestones")
    op.drop_table("milestones")
    op.drop_index(op.f("ix_initiatives_owner_id"), table_name="initiatives")
    op.drop_index(op.f("ix_initiatives_unit_id"), table_name="initiatives")
    op.drop_index(op.f("ix_initiatives_goal_id"), table_name="initiatives")
    op.drop_table("initiatives")
    op.drop_constraint(op.f("fk_goals_carried_from_goals"), "goals", type_="foreignkey")
    op.drop_constraint(op.f("fk_goals_cycle_id_cycles"), "goals", type_="foreignkey")
    op.drop_index(op.f("ix_goals_cycle_id"), table_name="goals")
    for column in (
        "carried_from",
        "cycle_id",
        "plan_summary",
        "last_check_in_at",
        "check_in_cadence",
        "perspective",
    ):
        op.drop_column("goals", column)
    op.drop_constraint(op.f("ck_kpis_source"), "kpis", type_="check")
    op.drop_column("kpis", "category")
    op.drop_column("kpis", "source")
    for column in ("values", "mission", "vision"):
        op.drop_column("org_units", column)
    op.drop_table("cycles")
