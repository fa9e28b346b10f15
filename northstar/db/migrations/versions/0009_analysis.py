"""Analysis: forecast bands on goal_state, anomaly settings on KPIs and their checks,
pacing `seasonal`, alert kind `anomaly`.

Revision ID: 0009
Revises: 0005
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALERT_KINDS = ("status", "forecast", "stale_data", "plan")
PACINGS = ("linear", "none")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.add_column("goal_state", sa.Column("forecast_low", sa.Double(), nullable=True))
    op.add_column("goal_state", sa.Column("forecast_high", sa.Double(), nullable=True))
    op.add_column("goal_state", sa.Column("forecast_probability", sa.Double(), nullable=True))
    op.add_column("goal_state", sa.Column("forecast_method", sa.String(length=10), nullable=True))
    op.add_column(
        "kpis",
        sa.Column("anomaly", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.create_table(
        "anomaly_checks",
        sa.Column("kpi_key", sa.String(length=64), nullable=False),
        sa.Column("checked_until", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["kpi_key"],
            ["kpis.key"],
            name=op.f("fk_anomaly_checks_kpi_key_kpis"),
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.PrimaryKeyConstraint("kpi_key", name=op.f("pk_anomaly_checks")),
    )
    op.drop_constraint(op.f("ck_goals_pacing"), "goals", type_="check")
    op.create_check_constraint(
        op.f("ck_goals_pacing"), "goals", _in("pacing", (*PACINGS, "seasonal"))
    )
    op.drop_constraint(op.f("ck_alerts_kind"), "alerts", type_="check")
    op.create_check_constraint(
        op.f("ck_alerts_kind"), "alerts", _in("kind", (*ALERT_KINDS, "anomaly"))
    )


def downgrade() -> None:
    op.execute("DELETE FROM alerts WHERE kind = 'anomaly'")
    op.drop_constraint(op.f("ck_alerts_kind"), "alerts", type_="check")
    op.create_check_constraint(op.f("ck_alerts_kind"), "alerts", _in("kind", ALERT_KINDS))
    op.execute("UPDATE goals SET pacing = 'linear' WHERE pacing = 'seasonal'")
    op.drop_constraint(op.f("ck_goals_pacing"), "goals", type_="check")
    op.create_check_constraint(op.f("ck_goals_pacing"), "goals", _in("pacing", PACINGS))
    op.drop_table("anomaly_checks")
    op.drop_column("kpis", "anomaly")
    op.drop_column("goal_state", "forecast_method")
    op.drop_column("goal_state", "forecast_probability")
    op.drop_column("goal_state", "forecast_high")
    op.drop_column("goal_state", "forecast_low")
