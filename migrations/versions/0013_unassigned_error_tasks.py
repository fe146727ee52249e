"""error tasks waiting for an administrator have no assignee

Revision ID: 0013
Revises: 0008
Create Date: 2026-12-02 10:00:00

An unroutable step whose only possible repairer would be the applicant (the applicant is the only
system administrator) gets an error task with no assignee: it waits in the todo box of every
system administrator other than the applicant.
"""
import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("task") as batch:
        batch.alter_column("assignee_id", existing_type=sa.Integer(), nullable=True)


def downgrade():
    # a waiting task cannot be kept without an assignee: it goes to the applicant's record as
    # cancelled, assigned to the applicant (nobody can act on a cancelled task)
    op.execute("UPDATE task SET status = 'cancelled', assignee_id = "
               "(SELECT applicant_id FROM \"case\" WHERE \"case\".id = task.case_id) WHERE assignee_id IS NULL")
    with op.batch_alter_table("task") as batch:
        batch.alter_column("assignee_id", existing_type=sa.Integer(), nullable=False)
