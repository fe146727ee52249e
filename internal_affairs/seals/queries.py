"""Reads of the seal registry, the seal-use log and the sealed records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import or_, select

from flask_babel import gettext as _

from ..extensions import db
from ..org.models import Agency, Person
from ..org.queries import get_role_holders, role_agency_ids
from .errors import NoSealError
from .models import Seal, SealedRecord, SealUse

__all__ = ["get_active_seals", "get_seals", "get_seal_uses", "get_record", "get_failed_records", "seal_dir",
           "trust_roots", "get_seal_keepers", "record_json", "TRUST_DIR", "RECORD_PURPOSE", "SEAL_AGENCIES",
           "record_seal_plan", "record_agency_ids"]

TRUST_DIR = "trust"
"""Under IA_SEAL_DIR: every ``*.pem`` / ``*.crt`` / ``*.cer`` there is a trust root for
verification (the seals' CA roots and the TSA's root)."""


def seal_dir() -> Path:
    """IA_SEAL_DIR (default ``<instance>/seals``)."""
    configured = current_app.config.get("SEAL_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "seals"


def trust_roots() -> list[bytes]:
    """The configured trust roots (PEM or DER blobs) from ``<IA_SEAL_DIR>/trust``."""
    directory = seal_dir() / TRUST_DIR
    if not directory.is_dir():
        return []
    return [p.read_bytes() for p in sorted(directory.iterdir())
            if p.suffix.lower() in (".pem", ".crt", ".cer") and p.is_file()]


def _active(now: datetime):
    now = now.replace(tzinfo=None)
    return (Seal.active_from <= now) & or_(Seal.active_until.is_(None), Seal.active_until > now)


RECORD_PURPOSE = "审批专用章"
"""The purpose of every seal a case record takes."""


def _case_agency(case: Any) -> Agency:
    return case.agency


def _organisation_department(case: Any) -> Agency:
    from ..org.queries import get_district_hr_agency

    agency = get_district_hr_agency()
    if agency is None:
        raise NoSealError(_("无法确定区委组织部（请设置 IA_DISTRICT_HR_AGENCY），不能加盖组织部的审批专用章。"))
    return agency


SEAL_AGENCIES = {"agency_seal": _case_agency, "organisation_seal": _organisation_department}
"""Whose 审批专用章 each seal code of the catalog (``matters.schema.SEAL_CODES``) stands for: the
case's agency, or the organisation department (区委组织部: ``org.queries.get_district_hr_agency``)."""


def record_seal_plan(case: Any) -> list[tuple[Agency, str]]:
    """The (agency, purpose) of each seal the record of ``case`` takes, in order (the first
    certifies): the seals its matter version declares, the agency's own when it declares none; a
    seal named twice (the applicant's agency is the organisation department) is applied once.
    Raises :class:`NoSealError` when the organisation department cannot be determined."""
    from ..matters.queries import definition_of

    plan: list[tuple[Agency, str]] = []
    for code in definition_of(case.matter_version).record_seals:
        entry = (SEAL_AGENCIES[code](case), RECORD_PURPOSE)
        if all(entry[0].id != a.id for a, _p in plan):
            plan.append(entry)
    return plan


def record_agency_ids(case: Any) -> set[int]:
    """The agencies whose seals the record of ``case`` takes (those that resolve: the case's
    agency at least), whose seal keepers see its sealing failures."""
    try:
        return {case.agency_id} | {a.id for a, _p in record_seal_plan(case)}
    except NoSealError:
        return {case.agency_id}


def get_active_seals(agency_id: int, purpose: str, now: datetime) -> list[Seal]:
    """The agency's seals of ``purpose`` in force at ``now``, newest first."""
    return list(db.session.execute(
        select(Seal).where(Seal.agency_id == agency_id, Seal.purpose == purpose, _active(now))
        .order_by(Seal.active_from.desc(), Seal.id.desc())).scalars())


def get_seals() -> list[Seal]:
    """Every seal, active or not, by agency and purpose."""
    return list(db.session.execute(select(Seal).order_by(Seal.agency_id, Seal.purpose, Seal.id)).scalars())


def get_seal_uses(object_type: str, object_id: Any) -> list[SealUse]:
    return list(db.session.execute(
        select(SealUse).where(SealUse.object_type == object_type, SealUse.object_id == str(object_id))
        .order_by(SealUse.id)).scalars())


def get_record(case_id: int) -> SealedRecord | None:
    return db.session.execute(select(SealedRecord).where(SealedRecord.case_id == case_id)).scalar_one_or_none()


def get_failed_records(agency_ids: Sequence[int] | None) -> list[tuple[SealedRecord, Any]]:
    """Records whose sealing failed (still being retried), with their case; unless
    ``agency_ids`` is None (administrators), only those taking a seal of one of ``agency_ids``
    (the case's agency's, or the organisation department's where the matter declares it)."""
    from ..cases.models import Case

    query = (select(SealedRecord, Case).join(Case, Case.id == SealedRecord.case_id)
             .where(SealedRecord.status == "failed").order_by(SealedRecord.updated_at.desc()))
    rows = [(r, c) for r, c in db.session.execute(query).all()]
    if agency_ids is None:
        return rows
    return [(r, c) for r, c in rows if record_agency_ids(c) & set(agency_ids)]


def get_seal_keepers(agency_id: int, role: str = "seal_keeper") -> list[Person]:
    """The people in post holding ``role`` (the seal keeper) in the agency."""
    return get_role_holders(agency_id, role)


def keeper_agency_ids(person: Person) -> set[int]:
    """The agencies whose seals ``person`` keeps."""
    return role_agency_ids(person, "seal_keeper")


def record_json(record: SealedRecord | None, case_id: int) -> dict[str, Any] | None:
    """The ``record`` field of a case's JSON: None until the case is finished."""
    if record is None:
        return None
    return {"status": record.status, "sha256": record.sha256 if record.status == "sealed" else None,
            "url": f"/api/v1/cases/{case_id}/record.pdf",
            "sealed_at": record.sealed_at.isoformat() + "Z" if record.sealed_at else None}
