"""Reading official documents: who may see one (:func:`access_document`, the one place that says
so — an agency that is neither issuer nor recipient sees nothing, nor do its people), the boxes,
the archive search and the document as the API shows it."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from ..clock import local_midnight
from ..cases.access import can_view_case
from ..cases.models import Case, Task
from ..cases.queries import iso
from ..errors import NotFound, ValidationError
from ..inputs import is_db_id, valid_id
from ..extensions import db
from ..org.models import Agency, Person
from ..org.queries import role_agency_ids
from .body import diff_bodies, parse_body
from .models import INCOMING, OUTGOING, Document, DocumentDelivery, DocumentSignature, DocumentVersion

__all__ = ["access_document", "is_doc_clerk", "list_documents", "document_json", "documents_brief_json", "version_diff", "BOXES",
           "search_archive", "document_attachments", "document_attachment"]

BOXES = ("drafts", "outgoing", "incoming", "archive")
_PAGE_MAX = 100


def is_doc_clerk(person: Person, agency_id: int) -> bool:
    """Whether ``person`` holds the 收发文 role of ``agency_id``."""
    return agency_id in role_agency_ids(person, "doc_clerk")


def _may_see(document: Document, person: Person, roles: AbstractSet[str]) -> bool:
    if "admin" in roles or document.drafter_id == person.id and document.direction == OUTGOING:
        return True
    if document.case is not None and can_view_case(document.case, person, roles - {"auditor"}):
        return True
    if person.agency_id == document.agency_id:
        return "auditor" in roles or is_doc_clerk(person, document.agency_id)
    return False


def access_document(document_id: Any, person: Person, roles: AbstractSet[str]) -> Document:
    """The document if ``person`` may see it: its drafter, anyone on its case (assignee,
    delegate, applicant), its agency's doc clerks and auditors, administrators. Raises
    :class:`NotFound` otherwise (never 403, so ids cannot be probed)."""
    if not valid_id(document_id):
        raise NotFound()
    document = db.session.get(Document, document_id)
    if document is None or not _may_see(document, person, roles):
        raise NotFound()
    return document


def _involved(person: Person):
    """Documents whose case ``person`` has (or had) a task on, or applied for."""
    return or_(
        Document.drafter_id == person.id,
        Document.case_id.in_(select(Task.case_id).where(or_(Task.assignee_id == person.id,
                                                            Task.acted_by_id == person.id))),
        Document.case_id.in_(select(Case.id).where(Case.applicant_id == person.id)),
    )


def list_documents(box: Any, person: Person, roles: AbstractSet[str], *, q: Any = None, number: Any = None,
                   agency: Any = None, status: Any = None, date_from: Any = None, date_to: Any = None,
                   page: int = 1, per_page: int = 20) -> tuple[list[Document], int]:
    """One box: ``drafts`` (mine, not yet issued), ``outgoing`` (my agency's issued documents I
    may see), ``incoming`` (delivered to my agency, not archived), ``archive`` (finished ones, with
    search by title, number, issuing agency, date and state). Raises :class:`ValidationError`."""
    if box not in BOXES:
        raise ValidationError(fields={"box": "box 必须是 drafts、outgoing、incoming 或 archive。"})
    clerk = is_doc_clerk(person, person.agency_id) or bool(roles & {"admin", "auditor"})
    mine = Document.agency_id == person.agency_id if clerk else and_(Document.agency_id == person.agency_id,
                                                                     _involved(person))
    query = select(Document)
    if box == "drafts":
        query = query.where(Document.direction == OUTGOING, Document.drafter_id == person.id,
                            Document.status.in_(("draft", "returned", "in_progress")))
    elif box == "outgoing":
        query = query.where(Document.direction == OUTGOING, mine,
                            Document.status.in_(("in_progress", "issued", "delivered")))
    elif box == "incoming":
        query = query.where(Document.direction == INCOMING, mine, Document.status.in_(("delivered", "handling")))
    else:
        query = query.where(mine, or_(and_(Document.direction == INCOMING, Document.status == "archived"),
                                      and_(Document.direction == OUTGOING, Document.status == "delivered")))
    query = search_archive(query, q=q, number=number, agency=agency, status=status, date_from=date_from,
                           date_to=date_to)
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar()
    per_page = max(1, min(per_page, _PAGE_MAX))
    rows = db.session.execute(query.order_by(Document.updated_at.desc(), Document.id.desc())
                              .options(selectinload(Document.case).load_only(Case.id, Case.number, Case.status),
                                       selectinload(Document.drafter))
                              .limit(per_page).offset((max(page, 1) - 1) * per_page)).scalars().all()
    return list(rows), total


def _day(value: Any, key: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError(fields={key: _("日期格式为 YYYY-MM-DD。")}) from None


def search_archive(query, *, q: Any = None, number: Any = None, agency: Any = None, status: Any = None,
                   date_from: Any = None, date_to: Any = None):
    """``query`` narrowed by title words, number, issuing agency (id or name), state and the
    sign-off/registration date."""
    for key, value in (("q", q), ("number", number), ("agency", agency), ("status", status)):
        if value is not None and (not isinstance(value, str) or len(value) > 200):
            raise ValidationError(fields={key: _("查询条件过长。")})
    if q:
        query = query.where(Document.title.contains(q, autoescape=True))
    if number:
        query = query.where(Document.number.contains(number, autoescape=True))
    if agency:
        if is_db_id(agency):
            query = query.where(Document.issuer_id == int(agency))
        else:
            query = query.where(Document.issuer_id.in_(select(Agency.id).where(Agency.name.contains(agency,
                                                                                                   autoescape=True))))
    if status:
        query = query.where(Document.status == status)
    start, end = _day(date_from, "from"), _day(date_to, "to")
    if start:
        query = query.where(Document.created_at >= local_midnight(start))
    if end:
        query = query.where(Document.created_at < local_midnight(end + timedelta(days=1)))
    return query


def document_attachments(document: Document) -> list:
    """The files attached to ``document`` (附件): at the issuer, its case's current ``attachment``
    files; at a recipient, the very files the issued document carried (same rows, same bytes and
    SHA-256), as they stood at sign-off — the outgoing case is closed then, so they cannot change."""
    from ..cases.models import Attachment

    source = document if document.direction == OUTGOING else (
        db.session.get(Document, document.source_id) if document.source_id else None)
    if source is None or source.case_id is None:
        return []
    query = select(Attachment).where(Attachment.case_id == source.case_id, Attachment.material == "attachment",
                                     Attachment.superseded.is_(False))
    if document.direction == INCOMING and source.signed_at is not None:
        query = query.where(Attachment.uploaded_at <= source.signed_at)
    return list(db.session.execute(query.order_by(Attachment.id)).scalars())


def document_attachment(document: Document, attachment_id: Any):
    """One of :func:`document_attachments` by id. Raises :class:`NotFound`."""
    found = next((a for a in document_attachments(document) if a.id == attachment_id), None)
    if found is None:
        raise NotFound()
    return found


def _brief(person: Person | None) -> dict[str, Any] | None:
    return None if person is None else {"uid": person.uid, "name": person.name}


def version_diff(document: Document, a: int, b: int) -> list[dict]:
    """The differences between versions ``a`` and ``b`` of ``document`` (title and body lines).
    Raises :class:`NotFound` for a version it does not have."""
    rows = {v.number: v for v in db.session.execute(select(DocumentVersion).where(
        DocumentVersion.document_id == document.id, DocumentVersion.number.in_((a, b)))).scalars()}
    if a not in rows or b not in rows:
        raise NotFound()
    title = [] if rows[a].title == rows[b].title else [
        {"op": "delete", "text": rows[a].title, "part": "title"}, {"op": "insert", "text": rows[b].title,
                                                                   "part": "title"}]
    return title + diff_bodies(rows[a].body, rows[b].body)


def _read_receipts(document: Document) -> list[dict[str, Any]]:
    """传阅: each reader and when they read (None while unread)."""
    if document.case_id is None:
        return []
    from ..cases.models import CaseStep

    rows = db.session.execute(
        select(Task, Person).join(CaseStep, CaseStep.id == Task.step_id).join(Person, Person.id == Task.assignee_id)
        .where(Task.case_id == document.case_id, Task.kind == "read", Task.status.in_(("pending", "read")))
        .order_by(Task.id)).all()
    return [{"reader": _brief(person), "read_at": iso(task.decided_at) if task.status == "read" else None}
            for task, person in rows]


def _agency_names(documents: list[Document]) -> dict[int, str]:
    ids = {i for d in documents for i in (*d.main_to, *d.cc_to, d.issuer_id, d.agency_id)}
    return dict(db.session.execute(select(Agency.id, Agency.name).where(Agency.id.in_(sorted(ids)))).all())


def documents_brief_json(documents: list[Document], person: Person, roles: AbstractSet[str]) -> list[dict]:
    """The brief :func:`document_json` of each document of a box's page, the agencies' names read
    once for them all (with :func:`list_documents`'s rows, a constant number of statements)."""
    names = _agency_names(documents)
    return [document_json(d, person, roles, brief=True, names=names) for d in documents]


def document_json(document: Document, person: Person, roles: AbstractSet[str], *, brief: bool = False,
                  names: dict[int, str] | None = None) -> dict:
    """The document as the API shows it: fields, structured body, versions, deliveries (to the
    issuer), the case (id, number, status) whose tasks carry the route, the sealed PDF's link and,
    at a recipient, the verification of the delivered PDF. ``names``: the agencies' names, if
    already read."""
    if names is None:
        names = _agency_names([document])
    out: dict[str, Any] = {
        "id": document.id, "direction": document.direction, "title": document.title, "number": document.number,
        "status": document.status, "series": document.series,
        "agency": {"id": document.agency_id, "name": names.get(document.agency_id)},
        "issuer": {"id": document.issuer_id, "name": names.get(document.issuer_id)},
        "main_to": [{"id": i, "name": names.get(i)} for i in document.main_to],
        "cc_to": [{"id": i, "name": names.get(i)} for i in document.cc_to],
        "countersign": list(document.countersign), "secrecy": document.secrecy, "urgency": document.urgency,
        "drafter": _brief(document.drafter), "signed_at": iso(document.signed_at),
        "created_at": iso(document.created_at), "updated_at": iso(document.updated_at),
        "case": None if document.case is None else {"id": document.case.id, "number": document.case.number,
                                                    "status": document.case.status},
        "pdf": {"url": f"/api/v1/documents/{document.id}/record.pdf", "sha256": document.pdf_sha256}
        if document.pdf_sha256 else None,
    }
    if brief:
        return out
    out["body"] = document.body
    out["attachments"] = [{"id": a.id, "name": a.filename, "content_type": a.content_type, "size": a.size,
                           "sha256": a.sha256, "url": f"/api/v1/documents/{document.id}/attachments/{a.id}"}
                          for a in document_attachments(document)]
    out["blocks"] = [b.as_json() for b in parse_body(document.body)]
    out["versions"] = [{"number": v.number, "title": v.title, "note": v.note, "by": _brief(v.created_by),
                        "at": iso(v.created_at)} for v in db.session.execute(
        select(DocumentVersion).where(DocumentVersion.document_id == document.id)
        .order_by(DocumentVersion.number)).scalars()]
    if document.direction == OUTGOING:
        out["deliveries"] = [{
            "agency": {"id": d.agency_id, "name": d.agency.name}, "kind": d.kind,
            "delivered_at": iso(d.delivered_at), "registered_by": _brief(d.registered_by),
            "registered_at": iso(d.registered_at), "finished_at": iso(d.finished_at),
        } for d in db.session.execute(select(DocumentDelivery).where(DocumentDelivery.document_id == document.id)
                                      .order_by(DocumentDelivery.id)).scalars()]
    else:
        out["verification"] = document.verification
        delivery = db.session.execute(select(DocumentDelivery).where(DocumentDelivery.incoming_id == document.id)
                                      ).scalar_one_or_none()
        out["registered_by"] = _brief(delivery.registered_by) if delivery else None
        out["registered_at"] = iso(delivery.registered_at) if delivery else None
        out["circulation"] = _read_receipts(document)
    out["signatures"] = [{"task_id": s.task_id, "by": _brief(db.session.get(Person, s.person_id)),
                          "at": iso(s.created_at), "url": f"/api/v1/documents/{document.id}/signatures/{s.id}.png"}
                         for s in db.session.execute(select(DocumentSignature).where(
                             DocumentSignature.document_id == document.id).order_by(DocumentSignature.id)).scalars()]
    return out
