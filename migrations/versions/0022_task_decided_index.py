"""the supervision dashboard reads decided tasks through a partial index of only them

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 04:50:00

``ix_task_decided`` holds only the tasks the dashboard counts per approver (decided, with a
decision that is an approval, rejection, return or completion, and who acted), keyed by case: one
descent per finished case instead of one per decision value, through a third of the task rows.
It replaces 0019's ``ix_task_case_decided``, which only that read used. bench/stats.py: the year's
decided tasks 132 → 75 ms (least of seven, 200,000 cases).
"""
import sqlalchemy as sa
from alembic import op


revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

DECIDED = "decision IN ('approve', 'reject', 'return', 'done') AND acted_by_id IS NOT NULL AND decided_at IS NOT NULL"


def upgrade():
    op.create_index("ix_task_decided", "task", ["case_id", "acted_by_id", "created_at", "decided_at"],
                    postgresql_where=sa.text(DECIDED), sqlite_where=sa.text(DECIDED))
    op.drop_index("ix_task_case_decided", table_name="task")


def downgrade():
    op.create_index("ix_task_case_decided", "task", ["case_id", "decision", "acted_by_id", "created_at", "decided_at"])
    op.drop_index("ix_task_decided", table_name="task", postgresql_where=sa.text(DECIDED), sqlite_where=sa.text(DECIDED))
