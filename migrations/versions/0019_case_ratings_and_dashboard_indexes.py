"""applicants' ratings of finished cases (好差评) and the indexes the supervision dashboard reads by

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 04:15:00

One rating per case (``case_rating.case_id`` unique), with the case's agency and matter type so
the dashboard groups ratings without the cases. The dashboard reads cases by submission and by
finish time (indexes carrying every column it reads, so that a year of a district comes from the
index alone), the steps and decided tasks of the cases finished in a period (likewise covering),
and open cases by due time: bench/stats.py shows the plans over 200,000 cases.
"""
import sqlalchemy as sa
from alembic import op


revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "case_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("matter_type_id", sa.Integer(), nullable=False),
        sa.Column("rater_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_case_rating_case_id_case")),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], name=op.f("fk_case_rating_agency_id_agency")),
        sa.ForeignKeyConstraint(["matter_type_id"], ["matter_type.id"],
                                name=op.f("fk_case_rating_matter_type_id_matter_type")),
        sa.ForeignKeyConstraint(["rater_id"], ["person.id"], name=op.f("fk_case_rating_rater_id_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_rating")),
        sa.UniqueConstraint("case_id", name=op.f("uq_case_rating_case_id")),
    )
    op.create_index("ix_case_rating_created", "case_rating", ["created_at", "agency_id", "matter_type_id"])
    op.create_index("ix_case_submitted_at", "case", ["submitted_at", "status", "agency_id", "matter_type_id",
                                                     "finished_at", "due_at", "return_count"])
    op.create_index("ix_case_finished_at", "case", ["finished_at", "status", "agency_id", "matter_type_id",
                                                    "submitted_at", "due_at", "return_count", "id"])
    op.create_index("ix_case_status_due", "case", ["status", "due_at"])
    op.create_index("ix_case_step_case_done", "case_step", ["case_id", "status", "name", "started_at", "finished_at"])
    op.create_index("ix_task_case_decided", "task", ["case_id", "decision", "acted_by_id", "created_at", "decided_at"])


def downgrade():
    op.drop_index("ix_task_case_decided", table_name="task")
    op.drop_index("ix_case_step_case_done", table_name="case_step")
    op.drop_index("ix_case_status_due", table_name="case")
    op.drop_index("ix_case_finished_at", table_name="case")
    op.drop_index("ix_case_submitted_at", table_name="case")
    op.drop_index("ix_case_rating_created", table_name="case_rating")
    op.drop_table("case_rating")
