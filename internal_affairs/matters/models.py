"""Matter types and their versions. A case keeps the version it was submitted under."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db

__all__ = ["MatterType", "MatterVersion"]


class MatterType(db.Model):
    __tablename__ = "matter_type"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    category: Mapped[str] = mapped_column(String(100), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("matter_version.id", use_alter=True, name="fk_matter_type_current_version"))

    current_version: Mapped["MatterVersion | None"] = relationship(foreign_keys=[current_version_id], post_update=True)


class MatterVersion(db.Model):
    __tablename__ = "matter_version"
    __table_args__ = (UniqueConstraint("matter_type_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matter_type_id: Mapped[int] = mapped_column(ForeignKey("matter_type.id"), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    source: Mapped[str] = mapped_column(String(300), nullable=False)
    loaded_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    matter_type: Mapped[MatterType] = relationship(foreign_keys=[matter_type_id])

