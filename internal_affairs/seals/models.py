"""The seal registry, the seal-use log and the sealed records of finished cases."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..org.models import Agency, Person

if TYPE_CHECKING:
    from ..cases.models import Case

__all__ = ["PURPOSES", "KEY_KINDS", "RECORD_STATUSES", "Seal", "SealUse", "SealedRecord"]

PURPOSES = ("审批专用章", "电子印章", "公文用章")
"""What a seal is for: records of cases take 审批专用章 (else 电子印章); documents 公文用章."""
KEY_KINDS = ("pkcs12", "pkcs11")
RECORD_STATUSES = ("queued", "sealing", "sealed", "failed")
"""``queued`` waits for the job; ``sealing`` is claimed by it until ``claimed_until``; ``failed``
is retried at ``next_attempt_at`` (shown to the seal keeper); ``sealed`` holds the PDF."""


class Seal(db.Model):
    """One seal of an agency: its certificate and where its key lives. The key itself is never in
    the database: a PKCS#12 file (path + the name of the secret holding its password) or a PKCS#11
    token (module, token label, key label + the name of the secret holding the PIN). A replaced
    seal keeps its row (``active_until``); seal uses point at it."""

    __tablename__ = "seal"
    __table_args__ = (Index("ix_seal_agency_purpose", "agency_id", "purpose"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), nullable=False)
    purpose: Mapped[str] = mapped_column(String(20), nullable=False)
    certificate: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    """DER."""
    certificate_serial: Mapped[str] = mapped_column(String(80), nullable=False)
    subject: Mapped[str] = mapped_column(Text, nullable=False)
    key_kind: Mapped[str] = mapped_column(String(10), nullable=False)
    pkcs12_path: Mapped[str | None] = mapped_column(Text)
    pkcs11_module: Mapped[str | None] = mapped_column(Text)
    token_label: Mapped[str | None] = mapped_column(String(100))
    key_label: Mapped[str | None] = mapped_column(String(100))
    secret_name: Mapped[str | None] = mapped_column(String(100))
    """The name of the secret holding the PKCS#12 password or the token PIN: an environment
    variable of that name, else the file ``<IA_SEAL_DIR>/secrets/<name>``."""
    keeper_role: Mapped[str] = mapped_column(String(50), nullable=False, default="seal_keeper")
    active_from: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    active_until: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    agency: Mapped[Agency] = relationship()


class SealUse(db.Model):
    """One use of a seal (用印记录): which seal, on what, why, when, with which certificate."""

    __tablename__ = "seal_use"
    __table_args__ = (Index("ix_seal_use_seal", "seal_id", "used_at"),
                      Index("ix_seal_use_object", "object_type", "object_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seal_id: Mapped[int] = mapped_column(ForeignKey("seal.id"), nullable=False)
    object_type: Mapped[str] = mapped_column(String(40), nullable=False)
    object_id: Mapped[str] = mapped_column(String(120), nullable=False)
    trigger: Mapped[str] = mapped_column(String(80), nullable=False)
    triggered_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    used_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    certificate_serial: Mapped[str] = mapped_column(String(80), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    """Of the sealed PDF."""

    seal: Mapped[Seal] = relationship()
    triggered_by: Mapped[Person | None] = relationship()


class SealedRecord(db.Model):
    """The sealed PDF record of one finished case, queued in the transaction that finished it."""

    __tablename__ = "sealed_record"
    __table_args__ = (Index("ix_sealed_record_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), nullable=False, unique=True)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    trigger: Mapped[str] = mapped_column(String(80), nullable=False)
    triggered_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    sha256: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    sealed_at: Mapped[datetime | None] = mapped_column(DateTime)

    case: Mapped["Case"] = relationship()
