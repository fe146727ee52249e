"""drop the redundant index on case_step.case_id

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 13:30:00

``uq_case_step_case_id`` (unique on ``case_id, index``) already serves every lookup of a case's
steps; the single-column index only cost a second index entry for every step a submission writes.
"""
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("case_step") as batch:
        batch.drop_index("ix_case_step_case_id")


def downgrade():
    with op.batch_alter_table("case_step") as batch:
        batch.create_index("ix_case_step_case_id", ["case_id"], unique=False)
