"""Every write to an official document. A document rides on a case (``doc_outgoing`` at its
issuer, ``doc_incoming`` at each recipient): the case engine runs 核稿, 会签, 签发, 批办, 承办 and
传阅 like any other matter's tasks; this module keeps what the case does not — the document, its
versions, its number, its sealed rendering and its deliveries — and moves them on when the case
does (:func:`case_changed`, called by the case services inside the deciding transaction).

The 发文字号 is taken at sign-off, in the sign-off's own transaction, from a gapless counter per
agency, series and year: a draft that is rejected or withdrawn never takes one, and concurrent
sign-offs queue on the counter row.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from datetime import datetime
from typing import Any, Iterable, Mapping

from flask_babel import gettext as _
from sqlalchemy import select, update

from ..clock import local_day
from ..atomic import atomic
from ..audit.actions import record_event
from ..cases.actions import create_case, submit_case
from ..cases.errors import InvalidTransitionError
from ..cases.models import Case
from ..errors import DomainError, NotFound, PermissionDenied, ValidationError
from ..inputs import is_db_id, valid_id
from ..extensions import db
from ..notify.actions import notify
from ..org.models import Agency, Department, Person
from ..org.queries import get_role_holders
from .body import MAX_BODY, parse_body
from .models import (INCOMING, OUTGOING, SECRECY, URGENCY, Document, DocumentCounter, DocumentDelivery,
                     DocumentSeries, DocumentSignature, DocumentVersion)
from .queries import is_doc_clerk

__all__ = ["do_create_document", "do_save_version", "do_submit_document", "do_withdraw_document",
           "do_register_incoming", "do_register_paper", "do_instruct", "do_set_series", "do_add_signature", "case_changed", "doc_clerks", "editable_by",
           "number_prefix", "SealingError", "MAX_SIGNATURE"]

MAX_TITLE = 300
MAX_AGENCIES = 100
MAX_SIGNATURE = 200_000
"""The largest handwritten signature (PNG bytes) kept with a decision."""
_PNG = b"\x89PNG\r\n\x1a\n"


class SealingError(DomainError):
    """The signed-off document could not be rendered or sealed; nothing was issued."""

    code = "sealing_failed"
    http_status = 409


def _local_year(now: datetime) -> int:
    return local_day(now).year


def _local_date(now: datetime):
    return local_day(now)


def doc_clerks(agency_id: int) -> list[Person]:
    """The people in post holding the ``doc_clerk`` (收发文) role of ``agency_id``."""
    return get_role_holders(agency_id, "doc_clerk")


# ---- checking what the drafter typed --------------------------------------------------------

def _text(data: Mapping[str, Any], key: str, limit: int, errors: dict[str, str], *, required: bool,
          default: str = "") -> str:
    value = data.get(key, default)
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[key] = _("必须是文字。")
        return default
    if len(value) > limit:
        errors[key] = _("不能超过 %(n)s 字。", n=limit)
        return default
    value = value.strip() if key != "body" else value
    if required and not value.strip():
        errors[key] = _("请填写此项。")
    return value


def _agencies(value: Any, key: str, errors: dict[str, str]) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_AGENCIES or not all(
            valid_id(v) for v in value):
        errors[key] = _("请提供单位编号列表（见 /api/v1/org/agencies）。")
        return []
    ids = list(dict.fromkeys(value))
    found = set(db.session.execute(select(Agency.id).where(Agency.id.in_(ids), Agency.active.is_(True))).scalars())
    missing = [i for i in ids if i not in found]
    if missing:
        errors[key] = _("没有这个单位：%(id)s", id=missing[0])
    return ids


def _units(value: Any, errors: dict[str, str]) -> list[str]:
    """会签 units: ``department:<id>`` / ``agency:<id>`` strings (a bare number is a department)."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 30:
        errors["countersign"] = _("会签单位须是列表（department:编号 或 agency:编号，至多 30 个）。")
        return []
    units: list[str] = []
    for item in value:
        if isinstance(item, int) and not isinstance(item, bool):
            item = f"department:{item}"
        kind, _sep, ident = item.partition(":") if isinstance(item, str) else ("", "", "")
        if kind not in ("department", "agency") or not is_db_id(ident):
            errors["countersign"] = _("会签单位须写作 department:编号 或 agency:编号。")
            return []
        model = Department if kind == "department" else Agency
        if db.session.get(model, int(ident)) is None:
            errors["countersign"] = _("没有这个科室或单位：%(unit)s", unit=item)
            return []
        units.append(f"{kind}:{int(ident)}")
    return list(dict.fromkeys(units))


def _checked(data: Any, agency: Agency, *, partial: Document | None = None) -> dict[str, Any]:
    """The document fields of ``data``, checked; on a save (``partial``) missing keys keep the
    document's values. Raises :class:`ValidationError` with one message per field."""
    if not isinstance(data, Mapping):
        raise ValidationError(fields={"request": _("请求内容必须是对象。")})
    base = {} if partial is None else {
        "title": partial.title, "series": partial.series, "main_to": partial.main_to, "cc_to": partial.cc_to,
        "countersign": partial.countersign, "secrecy": partial.secrecy, "urgency": partial.urgency,
        "body": partial.body}
    merged = {**base, **{k: v for k, v in data.items() if k in (
        "title", "series", "main_to", "cc_to", "countersign", "secrecy", "urgency", "body")}}
    errors: dict[str, str] = {}
    out: dict[str, Any] = {
        "title": _text(merged, "title", MAX_TITLE, errors, required=True),
        "body": _text(merged, "body", MAX_BODY, errors, required=False),
        "main_to": _agencies(merged.get("main_to"), "main_to", errors),
        "cc_to": _agencies(merged.get("cc_to"), "cc_to", errors),
        "countersign": _units(merged.get("countersign"), errors),
    }
    for key, allowed in (("secrecy", SECRECY), ("urgency", URGENCY)):
        value = merged.get(key) or ""
        if value not in allowed:
            errors[key] = _("可选值：%(values)s", values="、".join(v for v in allowed if v) + "（或留空）")
        out[key] = value if value in allowed else ""
    series = merged.get("series")
    if series in (None, ""):
        out["series"] = None
    elif not isinstance(series, str) or len(series) > 30:
        errors["series"] = _("发文系列须是文字。")
    elif db.session.execute(select(DocumentSeries.id).where(DocumentSeries.agency_id == agency.id,
                                                            DocumentSeries.code == series)).first() is None:
        errors["series"] = _("本单位没有这个发文系列：%(series)s", series=series)
    else:
        out["series"] = series
    if errors:
        raise ValidationError(fields=errors)
    return out


def _case_form(document: Document) -> dict[str, Any]:
    form: dict[str, Any] = {"document": document.id, "doc_title": document.title}
    if document.countersign:
        form["countersign"] = list(document.countersign)
    return form


def _version(document: Document, *, acting_user: Person, now: datetime, note: str | None = None) -> DocumentVersion:
    last = db.session.execute(select(db.func.max(DocumentVersion.number))
                              .where(DocumentVersion.document_id == document.id)).scalar() or 0
    version = DocumentVersion(document_id=document.id, number=last + 1, title=document.title, body=document.body,
                              note=note, created_by_id=acting_user.id, created_at=now)
    db.session.add(version)
    return version


def _event(action: str, document: Document, acting_user: Person | None, now: datetime, **data: Any) -> None:
    db.session.flush()
    record_event(action, actor=acting_user, object_type="document", object_id=document.number or document.id,
                 data={"document_id": document.id} | data, now=now)


# ---- drafting ---------------------------------------------------------------------------------

@atomic
def do_create_document(data: Any, *, acting_user: Person, now: datetime, submit: bool = False) -> Document:
    """Draft an outgoing document in ``acting_user``'s agency (its first version), and submit it
    at once when ``submit``. Raises :class:`ValidationError`."""
    fields = _checked(data, acting_user.agency)
    document = Document(direction=OUTGOING, agency_id=acting_user.agency_id, issuer_id=acting_user.agency_id,
                        drafter_id=acting_user.id, status="draft", created_at=now, updated_at=now, **fields)
    db.session.add(document)
    db.session.flush()
    _version(document, acting_user=acting_user, now=now)
    _event("documents.document.created", document, acting_user, now, title=document.title)
    case = create_case("doc_outgoing", _case_form(document), applicant=acting_user, now=now, submit=False)
    document.case = case
    if submit:
        _submit(document, acting_user=acting_user, now=now)
    db.session.commit()
    return document


def editable_by(document: Document, person: Person) -> bool:
    """The drafter while the draft is theirs; while under review, whoever may decide one of its
    case's open tasks now (the 核稿 reviewer edits the text they review), as the case engine says
    (:func:`internal_affairs.cases.queries.viewer_capabilities`: a delegate too; not while the
    task waits for an opinion)."""
    if document.direction != OUTGOING:
        return False
    if document.status in ("draft", "returned"):
        return document.drafter_id == person.id
    if document.status == "in_progress" and document.case is not None:
        from ..cases.queries import viewer_capabilities

        caps = viewer_capabilities(document.case, person)
        return any(task_id not in caps.blocked for task_id in caps.decide)
    return False


@atomic
def do_save_version(document: Document, data: Any, *, acting_user: Person, now: datetime) -> Document:
    """Save the draft as a new version (title, body and, while it is a draft, the other fields).
    Raises :class:`PermissionDenied`, :class:`InvalidTransitionError`, :class:`ValidationError`."""
    if document.direction != OUTGOING or document.status not in ("draft", "returned", "in_progress"):
        raise InvalidTransitionError(_("公文已经签发或终止，不能再修改。"))
    if not editable_by(document, acting_user):
        raise PermissionDenied(_("只有拟稿人（草稿）或当前审核人可以修改公文。"))
    if document.status == "in_progress" and isinstance(data, Mapping):
        data = {k: v for k, v in data.items() if k in ("title", "body", "note")}
    fields = _checked(data, document.agency, partial=document)
    note = data.get("note") if isinstance(data, Mapping) else None
    if note is not None and (not isinstance(note, str) or len(note) > 500):
        raise ValidationError(fields={"note": _("修改说明不能超过 500 字。")})
    changed = sorted(k for k, v in fields.items() if getattr(document, k) != v)
    for key, value in fields.items():
        setattr(document, key, value)
    document.updated_at = now
    version = _version(document, acting_user=acting_user, now=now, note=note or None)
    if document.case is not None and document.status in ("draft", "returned"):
        document.case.form = _case_form(document)
        document.case.title = f"发文：{document.title}"[:300]
    _event("documents.document.version_saved", document, acting_user, now, version=version.number, changed=changed)
    db.session.commit()
    return document


def _submit(document: Document, *, acting_user: Person, now: datetime) -> None:
    if document.drafter_id != acting_user.id:
        raise PermissionDenied(_("只有拟稿人可以提交公文。"))
    if document.status != "draft":
        raise InvalidTransitionError(_("只有草稿可以提交；被退回的公文请修改后在办件中重新提交。"))
    if not document.main_to:
        raise ValidationError(fields={"main_to": _("请至少指定一个主送单位。")})
    if not parse_body(document.body):
        raise ValidationError(fields={"body": _("请填写正文。")})
    case = document.case
    case.title = f"发文：{document.title}"[:300]
    submit_case(case, applicant=acting_user, now=now, form=_case_form(document))
    document.updated_at = now
    _event("documents.document.submitted", document, acting_user, now, case_id=case.id)


@atomic
def do_submit_document(document: Document, *, acting_user: Person, now: datetime) -> Document:
    """Send the draft on its route (核稿 → 会签 → 签发); a returned document goes back on its
    route with its amended text (the case's resubmission). Raises :class:`PermissionDenied`,
    :class:`InvalidTransitionError`, :class:`ValidationError`."""
    if document.status == "returned":
        from ..cases.actions import do_resubmit

        if document.drafter_id != acting_user.id:
            raise PermissionDenied(_("只有拟稿人可以提交公文。"))
        do_resubmit(document.case, _case_form(document), acting_user=acting_user, now=now)
        return document
    _submit(document, acting_user=acting_user, now=now)
    db.session.commit()
    return document


@atomic
def do_withdraw_document(document: Document, *, acting_user: Person, now: datetime) -> Document:
    """The drafter withdraws the document before anyone decided (the case is withdrawn with it;
    no number is taken). Raises :class:`PermissionDenied`, :class:`InvalidTransitionError`."""
    from ..cases.actions import do_withdraw_case

    if document.drafter_id != acting_user.id:
        raise PermissionDenied(_("只有拟稿人可以撤回公文。"))
    if document.case is None or document.status != "in_progress":
        raise InvalidTransitionError(_("只有审核中的公文可以撤回。"))
    do_withdraw_case(document.case, acting_user=acting_user, now=now)
    return document


@atomic
def do_set_series(agency: Agency, code: Any, prefix: Any, *, acting_user: Person | None, now: datetime,
                  is_default: bool = False) -> DocumentSeries:
    """Set ``agency``'s 发文字号 prefix for series ``code`` (e.g. 组发 → 嘉禾组发); ``is_default``
    makes it the series of documents that name none. Raises :class:`ValidationError`."""
    errors = {}
    if not isinstance(code, str) or not code.strip() or len(code) > 30:
        errors["code"] = _("请填写系列代码（至多 30 字）。")
    if not isinstance(prefix, str) or not prefix.strip() or len(prefix) > 60 or any(c in prefix for c in "〔〕[]"):
        errors["prefix"] = _("请填写发文字号前缀（至多 60 字，不含括号）。")
    if errors:
        raise ValidationError(fields=errors)
    row = db.session.execute(select(DocumentSeries).where(DocumentSeries.agency_id == agency.id,
                                                          DocumentSeries.code == code.strip())).scalar_one_or_none()
    if row is None:
        row = DocumentSeries(agency_id=agency.id, code=code.strip(), prefix=prefix.strip(), is_default=False,
                             updated_at=now)
        db.session.add(row)
    row.prefix, row.updated_at = prefix.strip(), now
    if is_default:
        db.session.execute(update(DocumentSeries).where(DocumentSeries.agency_id == agency.id)
                           .values(is_default=False))
        row.is_default = True
    db.session.flush()
    record_event("documents.series.set", actor=acting_user, object_type="agency", object_id=agency.id,
                 data={"code": row.code, "prefix": row.prefix, "default": row.is_default}, now=now)
    db.session.commit()
    return row


# ---- sign-off: number, render, seal, deliver ------------------------------------------------

def number_prefix(agency: Agency, series: str | None) -> str:
    """The 发文字号 prefix of ``agency``'s ``series`` (its default series when None); an agency
    without settings numbers as ``<agency>发``."""
    query = select(DocumentSeries.prefix).where(DocumentSeries.agency_id == agency.id)
    query = query.where(DocumentSeries.code == series) if series else query.where(DocumentSeries.is_default.is_(True))
    prefix = db.session.execute(query).scalar()
    return prefix or f"{agency.name}发"


def _next_number(agency: Agency, series: str | None, year: int) -> str:
    """The next gapless 发文字号 of ``agency``'s series in ``year``, taken in the current
    transaction (the counter row stays locked until it ends)."""
    prefix = number_prefix(agency, series)
    for _attempt in range(3):
        value = db.session.execute(
            update(DocumentCounter).where(DocumentCounter.agency_id == agency.id, DocumentCounter.prefix == prefix,
                                          DocumentCounter.year == year)
            .values(last=DocumentCounter.last + 1).returning(DocumentCounter.last)).scalar_one_or_none()
        if value is not None:
            return f"{prefix}〔{year}〕{value}号"
        nested = db.session.begin_nested()
        try:
            db.session.add(DocumentCounter(agency_id=agency.id, prefix=prefix, year=year, last=0))
            db.session.flush()
            nested.commit()
        except Exception:  # noqa: BLE001 - another sign-off created the counter row first
            nested.rollback()
    raise DomainError(_("无法分配发文字号，请重试。"), code="numbering_failed")


def _seal(pdf: bytes, agency: Agency, *, acting_user: Person | None, now: datetime,
          object_id: str) -> tuple[bytes, str]:
    """Seal ``pdf`` with ``agency``'s 公文用章 from the seal registry (the seal use logged and
    audited in this transaction): (sealed PDF, its SHA-256). Raises :class:`NoSealError` when the
    agency has no active 公文用章, so a sign-off without a seal is refused whole."""
    from ..seals.actions import seal_pdf_for_agency

    sealed = seal_pdf_for_agency(pdf, agency_id=agency.id, purposes=["公文用章"], trigger="documents.document.issued",
                                 object_type="document", object_id=object_id, acting_user=acting_user, now=now)
    return sealed.pdf, sealed.sha256


def _verify(pdf: bytes) -> dict[str, Any]:
    """The delivered PDF's verification, against the platform's trust roots (the seals' roots)."""
    from signing import verify_pdf

    from ..seals.actions import off_event_loop
    from ..seals.queries import trust_roots

    report = off_event_loop(verify_pdf, pdf, trust_roots=trust_roots())
    return {"valid": report.valid, "signatures": [
        {"signer": s.signer, "seal": s.seal, "organization": s.organization,
         "signed_at": s.signed_at.isoformat() if s.signed_at else None, "intact": s.intact, "trusted": s.trusted,
         "covers_whole_document": s.covers_whole_document, "modified_after": list(s.modified_after)}
        for s in report.signatures]}


def render_pdf(document: Document, issued_on) -> bytes:
    """The GB/T 9704 rendering of ``document`` (unsealed)."""
    from signing import BodyBlock, DocumentRecord, RenderError, SigningError, render_document

    from ..cases.models import Attachment

    names = dict(db.session.execute(select(Agency.id, Agency.name)
                                    .where(Agency.id.in_(list(document.main_to) + list(document.cc_to)))).all())
    attachments = tuple(f"{os.path.splitext(name)[0]}（SHA-256：{sha256}）" for name, sha256 in db.session.execute(
        select(Attachment.filename, Attachment.sha256).where(
            Attachment.case_id == document.case_id, Attachment.material == "attachment",
            Attachment.superseded.is_(False)).order_by(Attachment.id)).all())
    record = DocumentRecord(
        issuer=document.issuer.name, number=document.number or "", title=document.title,
        main_to=tuple(names[i] for i in document.main_to if i in names),
        cc_to=tuple(names[i] for i in document.cc_to if i in names),
        body=tuple(BodyBlock(b.text, b.level) for b in parse_body(document.body)),
        issued_on=issued_on, printed_on=issued_on, secrecy=document.secrecy or None, attachments=attachments,
        urgency=document.urgency or None)
    try:
        return render_document(record)
    except (RenderError, SigningError) as exc:
        raise SealingError(_("公文排版失败：%(why)s", why=str(exc))) from exc


def _issue(document: Document, *, acting_user: Person | None, now: datetime) -> None:
    """签发 done: number, render, seal and deliver, all in the sign-off's transaction."""
    document.number = _next_number(document.issuer, document.series, _local_year(now))
    document.signed_at = now
    sealed, sha256 = _seal(render_pdf(document, _local_date(now)), document.issuer, acting_user=acting_user, now=now,
                           object_id=document.number)
    document.pdf, document.pdf_sha256 = sealed, sha256
    document.status = "issued"
    document.updated_at = now
    _event("documents.document.issued", document, acting_user, now, number=document.number, sha256=sha256)
    verification = _verify(sealed)
    kinds = {agency_id: "main" for agency_id in document.main_to}
    for agency_id in document.cc_to:
        kinds.setdefault(agency_id, "cc")
    for agency_id, kind in kinds.items():
        incoming = Document(direction=INCOMING, agency_id=agency_id, issuer_id=document.issuer_id,
                            source_id=document.id, drafter_id=document.drafter_id, title=document.title,
                            series=None, main_to=list(document.main_to), cc_to=list(document.cc_to), countersign=[],
                            secrecy=document.secrecy, urgency=document.urgency, body=document.body,
                            status="delivered", number=document.number, signed_at=now, pdf=sealed,
                            pdf_sha256=sha256, verification=verification, created_at=now, updated_at=now)
        db.session.add(incoming)
        db.session.flush()
        db.session.add(DocumentDelivery(document_id=document.id, agency_id=agency_id, incoming_id=incoming.id,
                                        kind=kind, delivered_at=now))
        clerks = doc_clerks(agency_id)
        if clerks:
            notify(clerks, kind="documents.delivered", subject=f"收文：{document.title}",
                   body=f"{document.issuer.name}来文「{document.title}」（{document.number}）待登记。",
                   link=f"/documents/{incoming.id}", dedupe_key=f"document:{incoming.id}:delivered", now=now,
                   urgent=bool(document.urgency))
    document.status = "delivered"
    _event("documents.document.delivered", document, acting_user, now, agencies=list(kinds),
           valid=verification["valid"])


_CASE_TO_OUTGOING = {"in_progress": "in_progress", "returned": "returned", "rejected": "rejected",
                     "withdrawn": "withdrawn"}


def case_changed(case: Case, actions: Iterable[str], *, acting_user: Person | None, now: datetime) -> None:
    """Follow a document's case (called by the case services in the same transaction): a
    signed-off outgoing document is numbered, sealed and delivered; an incoming one is 办结 and
    archived when its case completes."""
    document = db.session.execute(select(Document).where(Document.case_id == case.id)).scalar_one_or_none()
    if document is None:
        return
    status = case.status
    if document.direction == OUTGOING:
        if status == "approved" and document.number is None:
            _issue(document, acting_user=acting_user, now=now)
        elif status in _CASE_TO_OUTGOING and document.status != _CASE_TO_OUTGOING[status]:
            document.status = _CASE_TO_OUTGOING[status]
            document.updated_at = now
        return
    if status in ("approved", "completed") and document.status != "archived":
        document.status = "archived"
        document.updated_at = now
        delivery = db.session.execute(select(DocumentDelivery).where(DocumentDelivery.incoming_id == document.id)
                                      ).scalar_one_or_none()
        if delivery is not None:
            delivery.finished_at = now
        _event("documents.document.archived", document, acting_user, now)
    elif status == "rejected" and document.status != "archived":
        document.status = "archived"
        document.updated_at = now


# ---- incoming ---------------------------------------------------------------------------------

@atomic
def do_register_incoming(document: Document, data: Any, *, acting_user: Person, now: datetime) -> Document:
    """登记 and 拟办: the recipient's doc clerk registers a delivered document with a proposal
    naming the departments to handle it (承办) and the people to read it (传阅); the agency's
    leader then instructs (批办). Raises :class:`PermissionDenied`, :class:`InvalidTransitionError`,
    :class:`ValidationError`."""
    _register(document, data, acting_user=acting_user, now=now)
    db.session.commit()
    return document


def _register(document: Document, data: Any, *, acting_user: Person, now: datetime) -> None:
    if document.direction != INCOMING:
        raise NotFound()
    if not is_doc_clerk(acting_user, document.agency_id):
        raise PermissionDenied(_("只有本单位收发文人员可以登记来文。"))
    if document.status != "delivered":
        raise InvalidTransitionError(_("这份来文已经登记。"))
    if not isinstance(data, Mapping):
        raise ValidationError(fields={"request": _("请求内容必须是对象。")})
    errors: dict[str, str] = {}
    proposal = _text(data, "proposal", 2000, errors, required=False)
    handlers = _register_units(data.get("handlers"), "handlers", errors, document.agency_id, required=True)
    readers = _register_units(data.get("readers"), "readers", errors, document.agency_id, required=False)
    if errors:
        raise ValidationError(fields=errors)
    form: dict[str, Any] = {"document": document.id, "doc_title": document.title, "handlers": handlers}
    if proposal:
        form["proposal"] = proposal
    if readers:
        form["readers"] = readers
    case = create_case("doc_incoming", form, applicant=acting_user, now=now, submit=False)
    document.case = case
    db.session.flush()
    case.title = f"收文：{document.title}"[:300]
    submit_case(case, applicant=acting_user, now=now)
    document.status = "handling"
    document.updated_at = now
    delivery = db.session.execute(select(DocumentDelivery).where(DocumentDelivery.incoming_id == document.id)
                                  ).scalar_one_or_none()
    if delivery is not None:
        delivery.registered_by_id, delivery.registered_at = acting_user.id, now
    _event("documents.document.registered", document, acting_user, now, case_id=case.id)


MAX_SCAN = 20 * 1024 * 1024


@atomic
def do_register_paper(data: Any, scan: bytes, *, acting_user: Person, now: datetime) -> Document:
    """A doc clerk registers a paper document received outside the platform: its title, its
    number and issuer as printed, and a scan (PDF), then proposes like any delivered one
    (:func:`do_register_incoming`). Raises :class:`PermissionDenied`, :class:`ValidationError`."""
    if not is_doc_clerk(acting_user, acting_user.agency_id):
        raise PermissionDenied(_("只有本单位收发文人员可以登记来文。"))
    if not isinstance(data, Mapping):
        raise ValidationError(fields={"request": _("请求内容必须是对象。")})
    errors: dict[str, str] = {}
    title = _text(data, "title", MAX_TITLE, errors, required=True)
    number = _text(data, "number", 100, errors, required=False)
    issuer_name = _text(data, "issuer_name", 200, errors, required=False)
    issuer_id = acting_user.agency_id
    if data.get("issuer") not in (None, ""):
        ids = _agencies([data["issuer"]] if not isinstance(data["issuer"], list) else data["issuer"], "issuer", errors)
        issuer_id = ids[0] if ids else issuer_id
    if not isinstance(scan, bytes) or not scan.lstrip()[:5].startswith(b"%PDF-") or len(scan) > MAX_SCAN:
        errors["file"] = _("请上传扫描件（PDF，不超过 20 MB）。")
    if errors:
        raise ValidationError(fields=errors)
    document = Document(direction=INCOMING, agency_id=acting_user.agency_id, issuer_id=issuer_id,
                        drafter_id=acting_user.id, title=title, series=None, main_to=[], cc_to=[], countersign=[],
                        secrecy="", urgency="", body=issuer_name and _("来文单位：%(name)s", name=issuer_name) or "",
                        status="delivered", number=number or None, pdf=scan, pdf_sha256=hashlib.sha256(scan).hexdigest(),
                        verification=None, created_at=now, updated_at=now)
    db.session.add(document)
    db.session.flush()
    _event("documents.document.paper_received", document, acting_user, now, sha256=document.pdf_sha256)
    _register(document, data, acting_user=acting_user, now=now)
    db.session.commit()
    return document


def _register_units(value: Any, key: str, errors: dict[str, str], agency_id: int, *, required: bool) -> list[str]:
    """Departments of the recipient agency (ids) for 承办, people (uids) or departments for 传阅."""
    if value in (None, []):
        if required:
            errors[key] = _("请指定承办科室。")
        return []
    if not isinstance(value, list) or len(value) > 30:
        errors[key] = _("请提供至多 30 个科室编号或人员用户名。")
        return []
    units = []
    for item in value:
        if isinstance(item, int) and not isinstance(item, bool):
            department = db.session.get(Department, item)
            if department is None or department.agency_id != agency_id:
                errors[key] = _("本单位没有这个科室：%(id)s", id=item)
                return []
            units.append(f"department:{item}")
        elif isinstance(item, str) and key == "readers" and 0 < len(item) <= 100:
            person = db.session.execute(select(Person).where(Person.uid == item, Person.active.is_(True))
                                        ).scalar_one_or_none()
            if person is None:
                errors[key] = _("没有这个在岗人员：%(uid)s", uid=item)
                return []
            units.append(f"person:{item}")
        else:
            errors[key] = _("请提供科室编号或人员用户名。")
            return []
    return list(dict.fromkeys(units))


# ---- handwritten signatures -------------------------------------------------------------------

def decode_signature(value: Any) -> bytes:
    """The PNG bytes of a ``data:image/png;base64,…`` signature. Raises :class:`ValidationError`."""
    if not isinstance(value, str) or not value.startswith("data:image/png;base64,") \
            or len(value) > MAX_SIGNATURE * 4 // 3 + 40:
        raise ValidationError(fields={"signature": _("手写签名须是 PNG 图片（不超过 200 KB）。")})
    try:
        png = base64.b64decode(value.split(",", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(fields={"signature": _("手写签名须是 PNG 图片（不超过 200 KB）。")}) from None
    if not png.startswith(_PNG) or len(png) > MAX_SIGNATURE:
        raise ValidationError(fields={"signature": _("手写签名须是 PNG 图片（不超过 200 KB）。")})
    return png


def do_add_signature(task_id: int, png: bytes, *, acting_user: Person, now: datetime) -> DocumentSignature | None:
    """Keep ``acting_user``'s handwritten signature with their decision on ``task_id`` (in the
    deciding transaction: the caller commits). None when the task's case carries no document."""
    from ..cases.models import Task

    task = db.session.get(Task, task_id)
    if task is None:
        return None
    document = db.session.execute(select(Document).where(Document.case_id == task.case_id)).scalar_one_or_none()
    if document is None:
        return None
    row = DocumentSignature(document_id=document.id, task_id=task_id, person_id=acting_user.id, png=png,
                            created_at=now)
    db.session.add(row)
    return row


# ---- 批办: the leader's instruction names the handling departments and their deadline --------

INSTRUCT_STEP, HANDLE_STEP = "批办", "承办"
MAX_DEADLINE_DAYS = 60


def do_instruct(document: Document, task_id: Any, data: Any, *, acting_user: Person, roles, now: datetime,
                signature: bytes | None = None, system_admins: tuple[str, ...] = ()) -> Document:
    """批办: the leader (or their delegate) approves the 批办 task of an incoming document with an
    instruction (the comment) and may name the departments that handle it (replacing the clerk's
    proposal) and their deadline in working days; the 承办 step, not started yet, is re-planned
    with them in the same transaction as the decision. Raises :class:`NotFound`,
    :class:`ValidationError`, :class:`InvalidTransitionError` and whatever deciding raises."""
    from ..cases.access import lock_case_of_task
    from ..cases.actions import do_decide
    from ..matters.queries import definition_of, resolve_plan

    if not isinstance(data, Mapping):
        raise ValidationError(fields={"request": _("请求内容必须是对象。")})
    if document.direction != INCOMING or document.case_id is None:
        raise NotFound()
    try:
        case = lock_case_of_task(task_id, now)
        task = next((t for t in case.tasks if t.id == task_id), None)
        if case.id != document.case_id or task is None:
            raise NotFound()
        steps = {s.id: s for s in case.steps}
        step = steps.get(task.step_id)
        if step is None or step.name != INSTRUCT_STEP or task.status != "pending":
            raise InvalidTransitionError(_("只有待批办的来文可以批办。"))
        errors: dict[str, str] = {}
        handlers = _register_units(data.get("handlers"), "handlers", errors, document.agency_id, required=False)
        days = data.get("deadline_days")
        if days not in (None, "") and (isinstance(days, bool) or not isinstance(days, int)
                                       or not 1 <= days <= MAX_DEADLINE_DAYS):
            errors["deadline_days"] = _("办理期限为 1 至 %(n)s 个工作日。", n=MAX_DEADLINE_DAYS)
        if errors:
            raise ValidationError(fields=errors)
        handle = next((s for s in case.steps if s.name == HANDLE_STEP and s.status == "planned"), None)
        if handle is not None and handlers and handlers != case.form.get("handlers"):
            form = dict(case.form) | {"handlers": handlers}
            plan, _facts, _view = resolve_plan(definition_of(case.matter_version), form, case.applicant.uid,
                                               system_admins=system_admins)
            fresh = next(s for s in plan.as_preview()["steps"] if s["name"] == HANDLE_STEP)
            case.form = form
            handle.spec = fresh
            case.plan = dict(case.plan) | {"steps": [fresh if s.get("name") == HANDLE_STEP else s
                                                     for s in case.plan.get("steps", [])]}
        if handle is not None and days not in (None, ""):
            handle.time_limit = str(days)
        db.session.flush()
        record_event("documents.document.instructed", actor=acting_user, object_type="document",
                     object_id=document.number or document.id,
                     data={"document_id": document.id, "handlers": handlers, "deadline_days": days}, now=now)
    except BaseException:
        db.session.rollback()
        raise
    do_decide(task_id, "approve", acting_user=acting_user, roles=roles, now=now, comment=data.get("comment"),
              signature=signature)
    return document
