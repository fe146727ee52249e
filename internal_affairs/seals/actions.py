"""Writes of the seals domain: sealing a PDF with an agency's seals (logging every use),
registering seals, and queueing / sealing the records of finished cases.

Sealing happens off the request path: a finished case only queues its :class:`SealedRecord`
(:func:`queue_case_record`, in the transaction that finished it); the scheduler's job
(:func:`seal_due_records`) renders and seals it, retrying with backoff and telling the seal keepers
when it fails.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

import signing
from signing import Pkcs11Key, Pkcs12Key, SealSpec

from ..atomic import atomic
from ..audit.actions import record_event
from ..extensions import db
from ..inputs import is_db_id
from ..org.models import Agency, Person
from .errors import NoSealError, SealConfigError, SealingFailedError
from .models import KEY_KINDS, PURPOSES, Seal, SealedRecord, SealUse
from .queries import RECORD_PURPOSE, get_active_seals, record_agency_ids, record_seal_plan, seal_dir

__all__ = ["SealedPdf", "off_event_loop", "seal_pdf_for_agency", "seal_pdf_for_agencies", "read_secret", "seal_spec", "do_register_seal", "check_import_seal",
           "queue_case_record", "RECORDED_OUTCOMES", "seal_due_records", "SealRunReport", "RECORD_PURPOSES", "backoff"]

RECORDED_OUTCOMES = ("approved", "rejected", "completed")
"""The ends of a case that get a sealed record (a withdrawn case was never decided: none)."""
RECORD_PURPOSES = (RECORD_PURPOSE,)
"""The purposes of the seals a case record takes (whose: :func:`.queries.record_seal_plan`)."""
MAX_BACKOFF = timedelta(hours=1)
CLAIM = timedelta(minutes=5)


def off_event_loop(function, *args, **kwargs):
    """``function(*args, **kwargs)``, in a worker thread when this thread runs an asyncio event
    loop: pyHanko signs and validates through ``asyncio.run``, which refuses to run inside a loop
    (an async server, or Playwright's sync API in the same process)."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


@dataclass(frozen=True)
class SealedPdf:
    """A sealed PDF, its SHA-256 and the ids of the :class:`SealUse` rows logged for it."""

    pdf: bytes
    sha256: str
    seal_uses: list[int] = field(default_factory=list)


def read_secret(name: str | None) -> str | None:
    """A seal secret (PKCS#12 password, token PIN) by name: the environment variable of that name,
    else the file ``<IA_SEAL_DIR>/secrets/<name>`` (first line)."""
    if not name:
        return None
    if name in os.environ:
        return os.environ[name]
    path = seal_dir() / "secrets" / name
    if path.is_file():
        return path.read_text(encoding="utf-8").splitlines()[0] if path.stat().st_size else ""
    return None


def _signing_failure(exc: signing.SigningError) -> str:
    """What went wrong in the signing library, in words a seal keeper reads (its own messages are
    English, for the log)."""
    if isinstance(exc, signing.MissingGlyphError):
        return _("以下字符没有可用的字体：%(chars)s", chars=" ".join(exc.characters))
    if isinstance(exc, signing.SealKeyError):
        return _("印章密钥无法读取（口令错误，或令牌、密钥标签不存在）。")
    if isinstance(exc, signing.TimestampError):
        return _("时间戳服务不可用。")
    if isinstance(exc, signing.RenderError):
        return _("办理记录无法生成。")
    return _("签名过程出错。")


def seal_spec(seal: Seal, *, field_name: str | None = None) -> SealSpec:
    """The signing library's spec for ``seal``. Raises :class:`SealConfigError` when its key
    file is missing."""
    secret = read_secret(seal.secret_name)
    if seal.key_kind == "pkcs12":
        path = Path(seal.pkcs12_path or "")
        if not path.is_file():
            raise SealConfigError(_("印章“%(name)s”的密钥文件不存在。", name=seal.name))
        key: Any = Pkcs12Key(path.read_bytes(), secret.encode() if secret is not None else None)
    else:
        key = Pkcs11Key(module=seal.pkcs11_module or "", token_label=seal.token_label or "", pin=secret or "",
                        label=seal.key_label or "", use_raw_mechanism=not _is_rsa(seal.certificate))
    return SealSpec(key=key, field_name=field_name or f"{seal.purpose}-{seal.id}", agency=seal.agency.name,
                    purpose=seal.purpose, reason=seal.purpose)


def _is_rsa(der: bytes) -> bool:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa

    return isinstance(x509.load_der_x509_certificate(der).public_key(), rsa.RSAPublicKey)


def _validation_context():
    """With a TSA, the seals' revocation information is fetched and embedded where reachable
    (PAdES B-LT; B-T where a certificate names no reachable CRL or OCSP responder)."""
    from pyhanko_certvalidator import ValidationContext

    from .queries import trust_roots

    return ValidationContext(trust_roots=signing.load_trust_roots(trust_roots()), allow_fetching=True)


def seal_pdf_for_agency(pdf: bytes, *, agency_id: int, purposes: Sequence[str], trigger: str, object_type: str,
                        object_id: str, acting_user: Person | None, now: datetime) -> SealedPdf:
    """Seal ``pdf`` with the agency's active seals of ``purposes`` (one per purpose, in order):
    :func:`seal_pdf_for_agencies` with one agency."""
    return seal_pdf_for_agencies(pdf, seals=[(agency_id, p) for p in purposes], trigger=trigger,
                                 object_type=object_type, object_id=object_id, acting_user=acting_user, now=now)


def seal_pdf_for_agencies(pdf: bytes, *, seals: Sequence[tuple[int, str]], trigger: str, object_type: str,
                          object_id: str, acting_user: Person | None, now: datetime) -> SealedPdf:
    """Seal ``pdf`` with one active seal per (agency id, purpose) of ``seals``, in order (the
    newest in force; the first a certification signature, the others approval signatures), with
    a timestamp from IA_TSA_URL when set (then with the revocation information embedded where
    reachable: B-LT). Every seal is found before any is applied: never a half-sealed PDF. A
    pair given twice is applied once.

    Logs each seal use (seal, object, trigger, time, certificate serial) and an audit event
    ``seals.pdf.sealed`` in the caller's transaction (no commit). Raises :class:`NoSealError`
    when an agency has no active seal of its purpose, :class:`SealingFailedError` when the key,
    the TSA or the signing fails (the message names the cause)."""
    seals = list(dict.fromkeys((int(a), str(p)) for a, p in seals))
    if not seals:
        raise NoSealError()
    chosen: list[Seal] = []
    for agency_id, purpose in seals:
        found = get_active_seals(agency_id, purpose, now)
        if not found:
            agency = db.session.get(Agency, agency_id)
            raise NoSealError(_("%(agency)s没有在用的“%(purpose)s”，请联系印章管理员。",
                                agency=agency.name if agency else agency_id, purpose=purpose))
        chosen.append(found[0])
    try:
        specs = [seal_spec(s) for s in chosen]
        tsa = current_app.config.get("TSA_URL")
        sealed = off_event_loop(signing.seal_pdf, pdf, specs, timestamper_url=tsa,
                                validation_context=_validation_context() if tsa else None)
    except signing.SigningError as exc:
        current_app.logger.warning("the signing library refused to seal: %s: %s", type(exc).__name__, exc)
        raise SealingFailedError(_("盖章失败：%(cause)s", cause=_signing_failure(exc)),
                                 details={"cause": type(exc).__name__}) from exc
    digest = hashlib.sha256(sealed).hexdigest()
    stamp = now.replace(tzinfo=None)
    uses = [SealUse(seal_id=s.id, object_type=object_type, object_id=str(object_id), trigger=trigger,
                    triggered_by_id=acting_user.id if acting_user else None, used_at=stamp,
                    certificate_serial=s.certificate_serial, sha256=digest) for s in chosen]
    db.session.add_all(uses)
    db.session.flush()
    record_event("seals.pdf.sealed", actor=acting_user, object_type=object_type, object_id=object_id, now=stamp,
                 data={"trigger": trigger, "sha256": digest, "agency_id": seals[0][0],
                       "seals": [{"seal_id": s.id, "name": s.name, "agency_id": s.agency_id, "purpose": s.purpose,
                                  "certificate_serial": s.certificate_serial} for s in chosen]})
    return SealedPdf(sealed, digest, [u.id for u in uses])


# ---- the registry ------------------------------------------------------------------------------

def _certificate_facts(der: bytes) -> tuple[str, str]:
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise SealConfigError(_("印章证书无法读取。")) from exc
    return format(cert.serial_number, "X"), cert.subject.rfc4514_string()


@atomic
def do_register_seal(*, name: str, agency: Agency, purpose: str, certificate_der: bytes, key_kind: str,
                     pkcs12_path: str | None = None, pkcs11_module: str | None = None,
                     token_label: str | None = None, key_label: str | None = None, secret_name: str | None = None,
                     keeper_role: str = "seal_keeper", active_from: datetime, active_until: datetime | None = None,
                     acting_user: Person | None, now: datetime) -> Seal:
    """Register a seal in the registry (audited). Raises :class:`SealConfigError` for an
    unknown purpose or key kind, or an unreadable certificate."""
    if purpose not in PURPOSES:
        raise SealConfigError(_("印章用途必须是：%(choices)s。", choices="、".join(PURPOSES)))
    if key_kind not in KEY_KINDS:
        raise SealConfigError(_("密钥来源必须是 pkcs12 或 pkcs11。"))
    serial, subject = _certificate_facts(certificate_der)
    stamp = now.replace(tzinfo=None)
    seal = Seal(name=name, agency_id=agency.id, purpose=purpose, certificate=certificate_der, certificate_serial=serial,
                subject=subject, key_kind=key_kind, pkcs12_path=pkcs12_path, pkcs11_module=pkcs11_module,
                token_label=token_label, key_label=key_label, secret_name=secret_name, keeper_role=keeper_role,
                active_from=active_from.replace(tzinfo=None),
                active_until=active_until.replace(tzinfo=None) if active_until else None, created_at=stamp)
    db.session.add(seal)
    db.session.flush()
    record_event("seals.seal.registered", actor=acting_user, object_type="seal", object_id=seal.id, now=stamp,
                 data={"name": name, "agency_id": agency.id, "purpose": purpose, "certificate_serial": serial,
                       "key_kind": key_kind})
    db.session.commit()
    return seal


def check_import_seal(*, agency: str, purpose: str, name: str | None, pkcs12_path: Path | None,
                      pkcs11_module: str | None, token_label: str | None, key_label: str | None, secret_name: str,
                      keeper_role: str, now: datetime, acting_user: Person | None = None) -> Seal:
    """Load the key (PKCS#12 file, or a PKCS#11 token label) with the secret named
    ``secret_name``, read its certificate, and register the seal. Raises
    :class:`SealConfigError` for an unknown agency, no or two key sources, a missing secret, or a
    key that cannot be loaded."""
    named = Agency.name == agency
    found = db.session.execute(select(Agency).where(
        (named | (Agency.id == int(agency))) if is_db_id(agency) else named)).scalars().first()
    if found is None:
        raise SealConfigError(_("找不到单位“%(agency)s”。", agency=agency))
    if (pkcs12_path is None) == (token_label is None):
        raise SealConfigError(_("请给出 PKCS#12 文件或 PKCS#11 令牌标签（二选一）。"))
    secret = read_secret(secret_name)
    if secret is None:
        raise SealConfigError(_("找不到密钥口令“%(name)s”（环境变量或印章目录 secrets 下的文件）。", name=secret_name))
    try:
        if pkcs12_path is not None:
            key: Any = Pkcs12Key(Path(pkcs12_path).read_bytes(), secret.encode())
        else:
            if not pkcs11_module or not key_label:
                raise SealConfigError(_("PKCS#11 令牌需要给出模块路径和密钥标签。"))
            key = Pkcs11Key(module=pkcs11_module, token_label=token_label or "", pin=secret, label=key_label)
        der = off_event_loop(signing.signer_certificate, SealSpec(key=key, field_name="import", agency=found.name,
                                                  purpose=purpose)).dump()
    except (signing.SigningError, OSError) as exc:
        raise SealConfigError(_("无法读取印章密钥：%(cause)s", cause=str(exc))) from exc
    return do_register_seal(
        name=name or f"{found.name}{purpose}", agency=found, purpose=purpose, certificate_der=der,
        key_kind="pkcs12" if pkcs12_path is not None else "pkcs11",
        pkcs12_path=str(Path(pkcs12_path).resolve()) if pkcs12_path is not None else None,
        pkcs11_module=pkcs11_module if token_label else None, token_label=token_label, key_label=key_label,
        secret_name=secret_name, keeper_role=keeper_role, active_from=now, acting_user=acting_user, now=now)


# ---- sealed records of finished cases ----------------------------------------------------------

def queue_case_record(case: Any, *, trigger: str, acting_user: Person | None, now: datetime) -> None:
    """Queue the sealed record of a case that just finished, in the caller's transaction (no
    commit); a case that already has one keeps it."""
    if db.session.execute(select(SealedRecord.id).where(SealedRecord.case_id == case.id)).first():
        return
    stamp = now.replace(tzinfo=None)
    db.session.add(SealedRecord(case_id=case.id, status="queued", trigger=trigger,
                                triggered_by_id=acting_user.id if acting_user else None, attempts=0,
                                next_attempt_at=stamp, created_at=stamp, updated_at=stamp))
    from ..cases.queries import note_extras

    note_extras(case.id)


def backoff(attempts: int) -> timedelta:
    """How long the job waits before trying a failed record again: 1, 2, 4 … minutes, at most an hour."""
    return min(MAX_BACKOFF, timedelta(minutes=2 ** min(max(0, attempts - 1), 10)))


@dataclass
class SealRunReport:
    sealed: int = 0
    failed: int = 0


def _claim(now: datetime) -> int | None:
    """Claim the next due record (queued, failed and due, or a sealing claim that expired)."""
    due = db.session.execute(
        select(SealedRecord.id, SealedRecord.status).where(
            ((SealedRecord.status.in_(("queued", "failed"))) & (SealedRecord.next_attempt_at <= now))
            | ((SealedRecord.status == "sealing") & (SealedRecord.claimed_until <= now)))
        .order_by(SealedRecord.next_attempt_at, SealedRecord.id).limit(1)).first()
    if due is None:
        return None
    taken = db.session.execute(
        update(SealedRecord).where(SealedRecord.id == due.id, SealedRecord.status == due.status)
        .values(status="sealing", claimed_until=now + CLAIM, updated_at=now))
    db.session.commit()
    return due.id if taken.rowcount == 1 else -1


def seal_due_records(*, now: datetime, limit: int = 20) -> SealRunReport:
    """Render and seal up to ``limit`` due records, each in its own transaction, with the seals
    its matter version declares (:func:`.queries.record_seal_plan`): store the sealed
    PDF and its SHA-256, or (on any failure) count the attempt, keep the error, schedule a retry
    with :func:`backoff` and tell the agency's seal keepers. A record is never dropped."""
    from .records import build_case_record

    now = now.replace(tzinfo=None)
    report = SealRunReport()
    for _round in range(limit):
        record_id = _claim(now)
        if record_id is None:
            break
        if record_id == -1:
            continue
        record = db.session.get(SealedRecord, record_id)
        case = record.case
        try:
            pdf = off_event_loop(signing.render_record, build_case_record(case))
            triggered_by = db.session.get(Person, record.triggered_by_id) if record.triggered_by_id else None
            sealed = seal_pdf_for_agencies(
                pdf, seals=[(agency.id, purpose) for agency, purpose in record_seal_plan(case)],
                trigger=record.trigger, object_type="case", object_id=case.number or str(case.id),
                acting_user=triggered_by, now=now)
        except Exception as exc:  # any failure is kept on the record and retried; never lost
            db.session.rollback()
            _failed(record_id, exc, now)
            report.failed += 1
            continue
        record.pdf, record.sha256, record.status = sealed.pdf, sealed.sha256, "sealed"
        record.sealed_at, record.updated_at, record.claimed_until, record.last_error = now, now, None, None
        record.attempts += 1
        db.session.commit()
        report.sealed += 1
    return report


def _failed(record_id: int, exc: Exception, now: datetime) -> None:
    from ..notify.actions import notify
    from .queries import get_seal_keepers

    record = db.session.get(SealedRecord, record_id)
    case = record.case
    record.attempts += 1
    record.status, record.claimed_until, record.updated_at = "failed", None, now
    record.last_error = (getattr(exc, "message", None) and str(exc.message)) or f"{type(exc).__name__}: {exc}"
    record.next_attempt_at = now + backoff(record.attempts)
    current_app.logger.warning("sealing the record of case %s failed (attempt %d): %s", case.id, record.attempts,
                               record.last_error)
    keepers: list[Person] = []
    for agency_id in sorted(record_agency_ids(case)):  # the keepers of every agency whose seal it takes
        roles = {s.keeper_role for s in get_active_seals(agency_id, RECORD_PURPOSE, now)}
        keepers += [p for role in sorted(roles or {"seal_keeper"}) for p in get_seal_keepers(agency_id, role)
                    if p not in keepers]
    if not keepers:
        from ..org.queries import system_admins

        keepers = list(db.session.execute(select(Person).where(Person.uid.in_(system_admins()))).scalars())
    notify(keepers, kind="seals.record.failed", subject=_("办件 %(number)s 的办理记录盖章失败", number=case.number or case.id),
           body=_("已自动重试 %(n)s 次，原因：%(error)s", n=record.attempts, error=record.last_error),
           link="/seals/failed", dedupe_key=f"seal-failed:{record.id}", now=now, case_id=case.id)
    record_event("seals.record.failed", actor=None, object_type="case", object_id=case.number or case.id, now=now,
                 data={"case_id": case.id, "attempts": record.attempts, "error": record.last_error[:500]})
    db.session.commit()
