"""The org chart as the platform keeps it: agencies, departments, people and their groups.

Rows are identified by the directory's stable id (``external_id``); DNs are kept for display
and for resolving references, and change freely. Nothing is deleted: a person or group that
leaves the directory is deactivated and keeps its history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db

__all__ = ["Agency", "Department", "Person", "OrgGroup", "OrgGroupMember", "SyncRun", "GROUP_LABELS", "ROLE_LABELS"]

ROLE_LABELS = {
    "hr": "人事",
    "doc_clerk": "收发文",
    "seal_keeper": "印章管理",
    "auditor": "审计",
    "discipline_review": "纪委审查",
    "cadre_management": "组织部干部管理",
}
GROUP_LABELS = {
    "principal_leader": "主要领导",
    "leader_in_charge": "分管领导",
    "department_head": "负责人",
    "role": "职能角色",
}


class Agency(db.Model):
    """A 机关单位: a first-level organizational unit below the directory base."""

    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    dn: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)

    departments: Mapped[list["Department"]] = relationship(back_populates="agency", order_by="Department.name")


class Department(db.Model):
    """A 内设科室, possibly nested under another department of the same agency."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    dn: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), nullable=False, index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    depth: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)

    agency: Mapped[Agency] = relationship(back_populates="departments")
    parent: Mapped["Department | None"] = relationship(remote_side=[id])


class Person(UserMixin, db.Model):
    """A civil servant as the directory describes them, plus what HR sets in the app."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    dn: Mapped[str] = mapped_column(Text, nullable=False)
    uid: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    title: Mapped[str | None] = mapped_column(String(200))
    rank: Mapped[str | None] = mapped_column(String(100))
    cadre_category: Mapped[str | None] = mapped_column(String(100))
    mail: Mapped[str | None] = mapped_column(String(200))
    mobile: Mapped[str | None] = mapped_column(String(50))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), nullable=False, index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    default_deputy_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    default_deputy_source: Mapped[str | None] = mapped_column(String(10))
    """Who set the default deputy: ``manual`` (the person or HR, never overridden by a sync) or
    ``directory`` (seeded from the ``secretary`` attribute, kept in step with it)."""
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, index=True)
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime)
    local_password_hash: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)

    agency: Mapped[Agency] = relationship(foreign_keys=[agency_id])
    department: Mapped[Department | None] = relationship(foreign_keys=[department_id])
    manager: Mapped["Person | None"] = relationship(remote_side=[id], foreign_keys=[manager_id])
    default_deputy: Mapped["Person | None"] = relationship(remote_side=[id], foreign_keys=[default_deputy_id])

    @property
    def is_cadre(self) -> bool:
        return (self.cadre_category or "") == "区管干部"

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated people cannot hold a session
        return bool(self.active)


class OrgGroup(db.Model):
    """A leadership or functional-role group from the directory, attached to a unit."""

    __tablename__ = "org_group"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    dn: Mapped[str] = mapped_column(Text, nullable=False)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    role_code: Mapped[str | None] = mapped_column(String(50))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), nullable=False, index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)

    agency: Mapped[Agency] = relationship()
    department: Mapped[Department | None] = relationship()
    members: Mapped[list["OrgGroupMember"]] = relationship(back_populates="group", cascade="all, delete-orphan")


class OrgGroupMember(db.Model):
    __tablename__ = "org_group_member"
    __table_args__ = (UniqueConstraint("group_id", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("org_group.id"), nullable=False, index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False, index=True)

    group: Mapped[OrgGroup] = relationship(back_populates="members")
    person: Mapped[Person] = relationship()


class SyncRun(db.Model):
    """One read of the directory: planned (dry run), applied, refused or failed."""

    __tablename__ = "sync_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    actor_label: Mapped[str] = mapped_column(String(200), nullable=False, default="system")
    source: Mapped[str] = mapped_column(String(500), nullable=False)
    mode: Mapped[str] = mapped_column(String(20), nullable=False)
    dry_run: Mapped[bool] = mapped_column(Boolean, nullable=False)
    forced: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    people_seen: Mapped[int | None] = mapped_column(Integer)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    errors: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    cookie: Mapped[str | None] = mapped_column(Text)

    actor: Mapped[Person | None] = relationship()
