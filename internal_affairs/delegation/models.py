"""Delegations (代理): a principal's tasks may be acted on by a delegate within a window.

Nothing is deleted: a revoked delegation keeps its row with ``revoked_at`` and ``revoked_by``.
Its state (scheduled, active, expired, revoked, proposed) is derived from the row and ``now``
(:func:`delegation_state`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, and_, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..org.models import Person

__all__ = ["Delegation", "SOURCES", "STATES", "delegation_state", "in_force"]

SOURCES = ("manual", "auto")
STATES = ("proposed", "scheduled", "active", "expired", "revoked")


class Delegation(db.Model):
    """``delegate`` may act for ``principal`` on tasks of the listed matter types (``matter_types``
    None: all) from ``starts_at`` until ``ends_at`` (naive UTC). ``proposed`` delegations (made by
    the platform in ``IA_AUTO_DELEGATION=propose`` mode) wait for the principal to confirm them."""

    __tablename__ = "delegation"
    __table_args__ = (
        Index("ix_delegation_delegate_window", "delegate_id", "ends_at", "starts_at"),
        Index("ix_delegation_principal_window", "principal_id", "ends_at", "starts_at"),
        Index("ix_delegation_window", "ends_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    ends_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    matter_types: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(10), nullable=False, default="manual")
    proposed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    source_case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))

    principal: Mapped[Person] = relationship(foreign_keys=[principal_id])
    delegate: Mapped[Person] = relationship(foreign_keys=[delegate_id])
    created_by: Mapped[Person | None] = relationship(foreign_keys=[created_by_id])
    revoked_by: Mapped[Person | None] = relationship(foreign_keys=[revoked_by_id])


def delegation_state(row: Any, now: datetime) -> str:
    """``revoked``, ``proposed``, ``scheduled`` (before its window), ``active`` or ``expired``."""
    if row.revoked_at is not None:
        return "revoked"
    if row.proposed:
        return "proposed"
    if now < row.starts_at:
        return "scheduled"
    if now < row.ends_at:
        return "active"
    return "expired"


def in_force(now):
    """The condition of a delegation in force at ``now`` (a value or a bind parameter): given, not
    revoked, and ``now`` within its window."""
    return and_(Delegation.revoked_at.is_(None), Delegation.proposed.is_(False), Delegation.starts_at <= now,
                Delegation.ends_at > now)
