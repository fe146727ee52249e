"""Cases (办件), their steps and tasks, and what hangs off them.

A case keeps the matter version and the resolved plan it was submitted under. Steps mirror the
plan; tasks are what a person must do. Nothing is deleted: a cancelled task, a withdrawn case,
a revised form leave their record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (JSON, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..matters.models import MatterType, MatterVersion
from ..org.models import Agency, Person
from .engine import CaseStatus, TaskStatus

__all__ = ["CASE_STATUSES", "TASK_STATUSES", "OPEN_TASK", "CaseCounter", "Case", "CaseStep", "Task",
           "CaseRevision", "CaseCC", "Reminder", "Attachment", "CaseMaterial"]

CASE_STATUSES = tuple(s.value for s in CaseStatus)
TASK_STATUSES = tuple(s.value for s in TaskStatus)
OPEN_TASK = TaskStatus.PENDING.value


class CaseCounter(db.Model):
    """The last case number issued per agency and year (gapless: bumped in the submitting
    transaction)."""

    __tablename__ = "case_counter"
    __table_args__ = (UniqueConstraint("agency_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    last: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class Case(db.Model):
    __tablename__ = "case"
    __table_args__ = (Index("ix_case_applicant_status", "applicant_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(120), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), nullable=False, index=True)
    matter_type_id: Mapped[int] = mapped_column(ForeignKey("matter_type.id"), nullable=False, index=True)
    matter_version_id: Mapped[int] = mapped_column(ForeignKey("matter_version.id"), nullable=False)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    form: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    variant: Mapped[str | None] = mapped_column(String(100))
    current_step: Mapped[int | None] = mapped_column(Integer)
    returned_from_step: Mapped[int | None] = mapped_column(Integer)
    return_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    agency: Mapped[Agency] = relationship()
    matter_type: Mapped[MatterType] = relationship()
    matter_version: Mapped[MatterVersion] = relationship()
    applicant: Mapped[Person] = relationship(foreign_keys=[applicant_id])
    steps: Mapped[list["CaseStep"]] = relationship(back_populates="case", order_by="CaseStep.index")
    tasks: Mapped[list["Task"]] = relationship(back_populates="case", order_by="Task.id")

    # Every UPDATE of a case carries ``WHERE version = <the version read>``; actions move the
    # version on themselves (``version_id_generator=False``), so a write based on a stale read
    # fails with StaleDataError, which :func:`internal_affairs.atomic.atomic` turns into a 409.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class CaseStep(db.Model):
    """One step of a case's plan. ``spec`` holds the planned step (approvers, branches, skips) as
    the route resolved it; ``progress`` what the engine keeps of its progress beyond ``status``
    (the finished branches of a parallel step, where to resume after a return: see
    :class:`internal_affairs.cases.engine.Progress`)."""

    __tablename__ = "case_step"
    __table_args__ = (UniqueConstraint("case_id", "index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), nullable=False)
    index: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    mode: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="planned")
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    note: Mapped[str | None] = mapped_column(Text)
    time_limit: Mapped[str | None] = mapped_column(String(20))
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    case: Mapped[Case] = relationship(back_populates="steps")


class Task(db.Model):
    """Something one person must do on a case: approve, handle, read, give an opinion, repair an
    unroutable step, or fulfil an obligation. Decided at most once: task actions lock the case's
    row first, and every change to a task is written together with the case's version bump,
    whose ``UPDATE … WHERE version = <read>`` refuses a write based on a stale read (``version``
    counts the task's own changes)."""

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_assignee_status", "assignee_id", "status", "due_at", "id"),
        Index("ix_task_acted_by", "acted_by_id", "decided_at"),
        Index("ix_task_case_step", "case_id", "step_id"),
        Index("ix_task_step", "step_id", "branch"),
        Index("ix_task_open_due", "due_at", postgresql_where=text("status = 'pending'"),
              sqlite_where=text("status = 'pending'")),
        Index("ix_task_blocked_by", "blocked_by_task_id", postgresql_where=text("blocked_by_task_id IS NOT NULL"),
              sqlite_where=text("blocked_by_task_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), nullable=False)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("case_step.id"))
    branch: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    origin: Mapped[str] = mapped_column(String(20), nullable=False, default="plan")
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    """None for an error task waiting for a system administrator other than the applicant."""
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=OPEN_TASK)
    acted_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    decision: Mapped[str | None] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    parent_task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"))
    blocked_by_task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"))
    closed_by_task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"))
    obligation_code: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    case: Mapped[Case] = relationship(back_populates="tasks")
    step: Mapped[CaseStep | None] = relationship()
    assignee: Mapped[Person | None] = relationship(foreign_keys=[assignee_id])
    acted_by: Mapped[Person | None] = relationship(foreign_keys=[acted_by_id])
    on_behalf_of: Mapped[Person | None] = relationship(foreign_keys=[on_behalf_of_id])


class CaseRevision(db.Model):
    """A form as it was before a resubmission, and what changed."""

    __tablename__ = "case_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), nullable=False, index=True)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    form_before: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    form_after: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    diff: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False)


class CaseCC(db.Model):
    __tablename__ = "case_cc"
    __table_args__ = (UniqueConstraint("case_id", "person_id"), Index("ix_case_cc_person", "person_id", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), nullable=False)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False)
    by_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    by: Mapped[Person] = relationship(foreign_keys=[by_id])


class Reminder(db.Model):
    """A 催办 sent to the holders of a case's open tasks."""

    __tablename__ = "reminder"
    __table_args__ = (Index("ix_reminder_case", "case_id", "created_at"), Index("ix_reminder_task", "task_id", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), nullable=False)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), nullable=False)
    by_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class Attachment(db.Model):
    """An uploaded file, stored in the database, bound to one of the matter's materials."""

    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_case", "case_id", "material"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), nullable=False)
    material: Mapped[str] = mapped_column(String(50), nullable=False)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, deferred=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    superseded: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    uploaded_by: Mapped[Person] = relationship()


class CaseMaterial(db.Model):
    """A material the applicant committed to supply later (容缺受理), and when it was supplied."""

    __tablename__ = "case_material"
    __table_args__ = (UniqueConstraint("case_id", "material"), Index("ix_case_material_due", "status", "due_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), nullable=False)
    material: Mapped[str] = mapped_column(String(50), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    commitment: Mapped[str] = mapped_column(Text, nullable=False)
    due_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    supplied_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
