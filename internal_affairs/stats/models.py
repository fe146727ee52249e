"""The applicants' ratings of finished cases (好差评)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, SmallInteger, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ..cases.models import Case, CaseStep, Task
from ..extensions import db

__all__ = ["CaseRating"]


class CaseRating(db.Model):
    """One rating per case, given once by its applicant after the case finished. ``agency_id`` and
    ``matter_type_id`` are the case's, kept here so the dashboard groups ratings without reading
    the cases."""

    __tablename__ = "case_rating"
    __table_args__ = (Index("ix_case_rating_created", "created_at", "agency_id", "matter_type_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), nullable=False, unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), nullable=False)
    matter_type_id: Mapped[int] = mapped_column(ForeignKey("matter_type.id"), nullable=False)
    rater_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False)
    score: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


# The dashboard reads cases by when they were submitted and when they finished, the steps and
# decided tasks of the cases finished in a period, and the open cases by due time. The case and
# step indexes carry every column those reads need, so that a year of a district is read from the
# indexes alone (bench/stats.py shows the plans). Migration 0019 (the tasks' index 0022); declared here, beside what needs them.
Index("ix_case_submitted_at", Case.submitted_at, Case.status, Case.agency_id, Case.matter_type_id, Case.finished_at,
      Case.due_at, Case.return_count)
Index("ix_case_finished_at", Case.finished_at, Case.status, Case.agency_id, Case.matter_type_id, Case.submitted_at,
      Case.due_at, Case.return_count, Case.id)
Index("ix_case_status_due", Case.status, Case.due_at)
Index("ix_case_step_case_done", CaseStep.case_id, CaseStep.status, CaseStep.name, CaseStep.started_at,
      CaseStep.finished_at)
# Only the decided tasks the dashboard counts per approver (migration 0022): the read's conditions
# (queries.DECISIONS) must imply this predicate for PostgreSQL to use it.
_DECIDED = text("decision IN ('approve', 'reject', 'return', 'done') AND acted_by_id IS NOT NULL "
                "AND decided_at IS NOT NULL")
Index("ix_task_decided", Task.case_id, Task.acted_by_id, Task.created_at, Task.decided_at,
      postgresql_where=_DECIDED, sqlite_where=_DECIDED)
