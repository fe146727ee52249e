"""Official documents: what a case does not hold — the document itself, its body versions, its
number (taken at sign-off from a gapless counter per agency, series and year), its sealed
rendering and its deliveries. An incoming document is a row of its own at each recipient agency,
pointing back at the outgoing one it came from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..cases.models import Case
from ..extensions import db
from ..org.models import Agency, Person

__all__ = ["OUTGOING", "INCOMING", "DOCUMENT_STATUSES", "SECRECY", "URGENCY", "DocumentSeries", "DocumentCounter",
           "Document", "DocumentVersion", "DocumentDelivery", "DocumentSignature"]

OUTGOING, INCOMING = "outgoing", "incoming"
DOCUMENT_STATUSES = ("draft", "in_progress", "returned", "rejected", "withdrawn", "issued",
                     "delivered", "registered", "handling", "archived")
SECRECY = ("", "秘密", "机密")
URGENCY = ("", "加急", "特急")


class DocumentSeries(db.Model):
    """An agency's 发文字号 prefix for one series (e.g. series ``组发`` → ``嘉禾组发``)."""

    __tablename__ = "document_series"
    __table_args__ = (UniqueConstraint("agency_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), nullable=False)
    code: Mapped[str] = mapped_column(String(30), nullable=False)
    prefix: Mapped[str] = mapped_column(String(60), nullable=False)
    is_default: Mapped[bool] = mapped_column(db.Boolean, nullable=False, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class DocumentCounter(db.Model):
    """The last 发文字号 issued per agency, series (its prefix) and year — bumped in the sign-off
    transaction, so a rejected or withdrawn draft never takes one."""

    __tablename__ = "document_counter"
    __table_args__ = (UniqueConstraint("agency_id", "prefix", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), nullable=False)
    prefix: Mapped[str] = mapped_column(String(60), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    last: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class Document(db.Model):
    """One official document at one agency: an outgoing draft/issued document at its issuer, or
    an incoming document at a recipient (``source_id`` the outgoing one)."""

    __tablename__ = "document"
    __table_args__ = (
        Index("ix_document_agency_direction_status", "agency_id", "direction", "status"),
        Index("ix_document_number", "number"),
        Index("ix_document_title", "title"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[str] = mapped_column(String(10), nullable=False)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), nullable=False)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), nullable=False)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    drafter_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    series: Mapped[str | None] = mapped_column(String(30))
    main_to: Mapped[list[int]] = mapped_column(JSON, nullable=False, default=list)
    cc_to: Mapped[list[int]] = mapped_column(JSON, nullable=False, default=list)
    countersign: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    secrecy: Mapped[str] = mapped_column(String(10), nullable=False, default="")
    urgency: Mapped[str] = mapped_column(String(10), nullable=False, default="")
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    number: Mapped[str | None] = mapped_column(String(100))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    verification: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    agency: Mapped[Agency] = relationship(foreign_keys=[agency_id])
    issuer: Mapped[Agency] = relationship(foreign_keys=[issuer_id])
    drafter: Mapped[Person] = relationship(foreign_keys=[drafter_id])
    case: Mapped[Case | None] = relationship(foreign_keys=[case_id])


class DocumentVersion(db.Model):
    """A saved version of an outgoing document's title and body (every save is one)."""

    __tablename__ = "document_version"
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    note: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    created_by: Mapped[Person] = relationship()


class DocumentDelivery(db.Model):
    """An issued document delivered to one 主送 or 抄送 agency (the incoming copy there)."""

    __tablename__ = "document_delivery"
    __table_args__ = (UniqueConstraint("document_id", "agency_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), nullable=False)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), nullable=False, index=True)
    incoming_id: Mapped[int] = mapped_column(ForeignKey("document.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    delivered_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    registered_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    agency: Mapped[Agency] = relationship()
    registered_by: Mapped[Person | None] = relationship()


class DocumentSignature(db.Model):
    """A handwritten signature (PNG drawn on a phone) given with a decision on a document's task."""

    __tablename__ = "document_signature"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), nullable=False, index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), nullable=False)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False)
    png: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, deferred=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
