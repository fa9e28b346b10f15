"""One owner per goal tree: `goal_judge_requests`, the judgements an evaluator replica
asks of the replica owning a goal's tree (docs/architecture.md, "One owner per goal").

A replica's batch judges the goals it owns in its own transaction and, in the same
transaction, inserts a plain row here for every other goal its events touched; the
replica holding the owner partition deletes the rows of its partitions and judges their
goals. Rows are only ever inserted new and deleted by their partition's owner, so
replicas never wait on each other here. No foreign key to `goals`: an insert would
take a share lock on the goal's row in every batch; a request for a deleted goal is
simply dropped when drained.

Revision ID: 0014_judge_requests
Revises: 0013_sources
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_judge_requests"
down_revision: str | None = "0013_sources"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "goal_judge_requests",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("owner_partition", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.UUID(), nullable=False),
        sa.Column(
            "requested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal_judge_requests")),
        comment="Goals to judge, by the evaluator replica holding owner_partition "
        "(one owner per goal tree); inserted by any replica, deleted by the owner.",
    )
    op.create_index(
        op.f("ix_goal_judge_requests_owner_partition"),
        "goal_judge_requests",
        ["owner_partition"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_goal_judge_requests_owner_partition"), "goal_judge_requests")
    op.drop_table("goal_judge_requests")
