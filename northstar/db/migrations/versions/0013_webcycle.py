"""The whole cycle in the browser (issue 24): the roll-up cap and children counts of
SPEC §5, archiving goals, and free-text owners turned into people.

- `goals.rollup_cap` (default 1.0): a child's score counts at most this much in its
  parent's roll-up. Goals created before it counted children up to 1.2; they now count
  up to 1.0, as the spec asks (a child far ahead must not hide one behind it).
- `goal_state.children`: a roll-up goal's children counted by status, written by the
  evaluation; NULL until a roll-up is next evaluated, and for goals with a KPI.
- `goals.archived_at`: an archived goal leaves the tree, the list, its parent's roll-up
  and the sweep, and keeps its history (docs/kpis-and-goals.md, "Archiving a goal").
- `kpis.unit_id`: a KPI may belong to a unit; that unit's leads (and those of the units
  above it) define and change it, as SPEC §11 asks. NULL: editors and admins only.
- `notification_digests.set_at`: when a digest's time was last set; a period that fell
  due before it is never sent (the bug: a weekly digest set on a Sunday for Mondays at
  08:30 went out at once). Existing digests count as set at their creation.
- A goal whose free-text `owner` names exactly one person (same name, case and
  surrounding spaces aside) and has no `owner_id` gets that person as `owner_id`, and the
  free text is cleared; a name that matches nobody, or several people, stays as it was
  and the web app shows it as a note (docs/web.md).

Revision ID: 0013_webcycle
Revises: 0013_cli
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013_webcycle"
down_revision: str | None = "0013_cli"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("goals", sa.Column("rollup_cap", sa.Double(), server_default="1", nullable=False))
    op.create_check_constraint(op.f("ck_goals_rollup_cap"), "goals", "rollup_cap > 0")
    op.add_column("goals", sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "goal_state",
        sa.Column("children", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column("kpis", sa.Column("unit_id", sa.Uuid(), nullable=True))
    op.create_index(op.f("ix_kpis_unit_id"), "kpis", ["unit_id"])
    op.create_foreign_key(
        op.f("fk_kpis_unit_id_org_units"),
        "kpis",
        "org_units",
        ["unit_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.add_column(
        "notification_digests",
        sa.Column(
            "set_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.execute("UPDATE notification_digests SET set_at = created_at")
    op.execute(
        """
        WITH named AS (
            SELECT lower(btrim(name)) AS name, min(id::text)::uuid AS id
            FROM users GROUP BY lower(btrim(name)) HAVING count(*) = 1
        )
        UPDATE goals g SET owner_id = named.id, owner = NULL
        FROM named
        WHERE g.owner_id IS NULL AND g.owner IS NOT NULL
          AND lower(btrim(g.owner)) = named.name
        """
    )


def downgrade() -> None:
    # Owners matched to people keep their `owner_id`; the free text is not restored.
    op.drop_column("notification_digests", "set_at")
    op.drop_constraint(op.f("fk_kpis_unit_id_org_units"), "kpis", type_="foreignkey")
    op.drop_index(op.f("ix_kpis_unit_id"), table_name="kpis")
    op.drop_column("kpis", "unit_id")
    op.drop_column("goal_state", "children")
    op.drop_column("goals", "archived_at")
    op.drop_constraint(op.f("ck_goals_rollup_cap"), "goals", type_="check")
    op.drop_column("goals", "rollup_cap")
