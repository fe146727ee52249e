"""The scheduler's lease and the marks of time events that fired (each at most once)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (Column, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Table, Unicode,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

__all__ = ["SchedulerLease", "TimeMark", "apscheduler_jobs"]

apscheduler_jobs = Table(
    "apscheduler_jobs", db.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
"""APScheduler's SQLAlchemy job store, column for column as APScheduler 3.11 defines it, so that
the migrations stay the only source of the schema (the job store then finds its table there)."""


class SchedulerLease(db.Model):
    """Who runs the jobs of ``name`` until ``expires_at``. A scheduler takes the row only when it
    is free or expired (one conditional UPDATE), and renews it while it runs; every job checks it
    holds the lease before acting."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(100))
    acquired_at: Mapped[datetime | None] = mapped_column(DateTime)
    renewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)


class TimeMark(db.Model):
    """A time event that fired for one item (``case``, ``step``, ``task`` or ``material``):
    ``reminder``, ``overdue`` or ``escalation``. Unique per item and kind, so a rerun of the
    scan, or a second scanner, fires nothing again."""

    __tablename__ = "time_mark"
    __table_args__ = (UniqueConstraint("item_type", "item_id", "kind", name="uq_time_mark"),
                      Index("ix_time_mark_case", "case_id", "fired_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), nullable=False)
    item_type: Mapped[str] = mapped_column(String(20), nullable=False)
    item_id: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    due_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    fired_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    note: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    """What the case page's timeline shows, written when the event fired."""
