"""``/api/v1/documents``: draft, save versions, submit, withdraw, the boxes and archive search, one
document (with its number, status, versions and deliveries), a version diff, the sealed PDF, the
handwritten signatures, registration of incoming documents and the agency's series settings.
Decisions on a document's tasks go through ``/api/v1/tasks/{id}/decision`` like every task."""

from __future__ import annotations

from flask import Response, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select

from ..api import ApiRoutes, bool_field, json_body, only_fields, paging, require_user
from ..api.openapi import PAGING, op, path_param
from ..auth import current_roles
from ..cases.api_attachments import content_disposition
from ..clock import utcnow
from ..errors import NotFound, PermissionDenied, ValidationError
from ..inputs import is_db_id
from ..org.queries import system_admins
from ..extensions import db
from . import actions
from .models import DocumentSeries, DocumentSignature
from .queries import (access_document, document_attachment, document_json, documents_brief_json, is_doc_clerk,
                      list_documents, version_diff)

routes = ApiRoutes("documents")

_FIELDS = {"title", "series", "main_to", "cc_to", "countersign", "secrecy", "urgency", "body"}


def _answer(document, user, status: int = 200):
    return jsonify(document_json(document, user, current_roles())), status


@routes.post("/documents")
def create_document():
    user = require_user()
    data = json_body()
    only_fields(data, _FIELDS | {"submit"})
    document = actions.do_create_document(data, acting_user=user, now=utcnow(), submit=bool_field(data, "submit"))
    return _answer(document, user, 201)


@routes.get("/documents")
def documents():
    user = require_user()
    limit, offset = paging()
    args = request.args
    rows, total = list_documents(args.get("box", "drafts"), user, current_roles(), q=args.get("q"),
                                 number=args.get("number"), agency=args.get("agency"), status=args.get("status"),
                                 date_from=args.get("from"), date_to=args.get("to"),
                                 page=offset // limit + 1, per_page=limit)
    return jsonify({"items": documents_brief_json(rows, user, current_roles()), "total": total})


@routes.get("/documents/<int:document_id>")
def get_document(document_id: int):
    user = require_user()
    return _answer(access_document(document_id, user, current_roles()), user)


@routes.post("/documents/<int:document_id>/versions")
def save_version(document_id: int):
    user = require_user()
    data = json_body()
    only_fields(data, _FIELDS | {"note"})
    document = access_document(document_id, user, current_roles())
    return _answer(actions.do_save_version(document, data, acting_user=user, now=utcnow()), user, 201)


@routes.get("/documents/<int:document_id>/diff")
def diff(document_id: int):
    user = require_user()
    document = access_document(document_id, user, current_roles())
    try:
        a, b = int(request.args.get("from", "")), int(request.args.get("to", ""))
    except ValueError:
        raise ValidationError(fields={"from": _("请指定要比较的两个版本号（from、to）。")}) from None
    return jsonify({"from": a, "to": b, "changes": version_diff(document, a, b)})


@routes.post("/documents/<int:document_id>/submit")
def submit(document_id: int):
    user = require_user()
    document = access_document(document_id, user, current_roles())
    return _answer(actions.do_submit_document(document, acting_user=user, now=utcnow()), user)


@routes.post("/documents/<int:document_id>/withdraw")
def withdraw(document_id: int):
    user = require_user()
    document = access_document(document_id, user, current_roles())
    return _answer(actions.do_withdraw_document(document, acting_user=user, now=utcnow()), user)


@routes.post("/documents/<int:document_id>/register")
def register(document_id: int):
    user = require_user()
    data = json_body()
    only_fields(data, {"proposal", "handlers", "readers"})
    document = access_document(document_id, user, current_roles())
    return _answer(actions.do_register_incoming(document, data, acting_user=user, now=utcnow()), user)


@routes.post("/documents/<int:document_id>/instruct")
def instruct(document_id: int):
    user = require_user()
    data = json_body()
    only_fields(data, {"task_id", "handlers", "deadline_days", "comment", "signature"})
    document = access_document(document_id, user, current_roles())
    signature = actions.decode_signature(data["signature"]) if data.get("signature") is not None else None
    task_id = data.get("task_id")
    if isinstance(task_id, bool) or not isinstance(task_id, int):
        raise ValidationError(fields={"task_id": _("请指定批办任务。")})
    actions.do_instruct(document, task_id, data, acting_user=user, roles=current_roles(), now=utcnow(),
                        signature=signature, system_admins=system_admins())
    return _answer(access_document(document_id, user, current_roles()), user)


@routes.post("/documents/paper")
def register_paper():
    user = require_user()
    upload = request.files.get("file")
    form = request.form
    data = {"title": form.get("title", ""), "number": form.get("number", ""), "issuer_name": form.get("issuer_name", ""),
            "issuer": int(form["issuer"]) if is_db_id(form.get("issuer")) else form.get("issuer") or None,
            "proposal": form.get("proposal", ""),
            "handlers": [int(v) if is_db_id(v.strip()) else v for v in form.get("handlers", "").split(",") if v.strip()],
            "readers": [v.strip() for v in form.get("readers", "").split(",") if v.strip()]}
    scan = upload.read(actions.MAX_SCAN + 1) if upload is not None else b""
    document = actions.do_register_paper(data, scan, acting_user=user, now=utcnow())
    return _answer(document, user, 201)


@routes.get("/documents/<int:document_id>/record.pdf")
def record_pdf(document_id: int):
    user = require_user()
    document = access_document(document_id, user, current_roles())
    if document.pdf is None:
        raise NotFound(_("公文尚未签发用印。"))
    name = f"document-{document.id}.pdf"
    return Response(document.pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"',
                             "X-Content-SHA256": document.pdf_sha256 or ""})


@routes.get("/documents/<int:document_id>/signatures/<int:signature_id>.png")
def signature_png(document_id: int, signature_id: int):
    user = require_user()
    document = access_document(document_id, user, current_roles())
    row = db.session.get(DocumentSignature, signature_id)
    if row is None or row.document_id != document.id:
        raise NotFound()
    return Response(row.png, mimetype="image/png", headers={"Content-Disposition": "inline"})


@routes.get("/documents/series")
def series():
    user = require_user()
    rows = db.session.execute(select(DocumentSeries).where(DocumentSeries.agency_id == user.agency_id)
                              .order_by(DocumentSeries.code)).scalars()
    return jsonify({"default_prefix": actions.number_prefix(user.agency, None), "items": [
        {"code": r.code, "prefix": r.prefix, "default": r.is_default} for r in rows]})


@routes.put("/documents/series/<code>")
def set_series(code: str):
    user = require_user()
    roles = current_roles()
    if "admin" not in roles and not is_doc_clerk(user, user.agency_id):
        raise PermissionDenied(_("只有本单位收发文人员或系统管理员可以设置发文字号。"))
    data = json_body()
    only_fields(data, {"prefix", "default"})
    row = actions.do_set_series(user.agency, code, data.get("prefix"), acting_user=user, now=utcnow(),
                                is_default=bool_field(data, "default"))
    return jsonify({"code": row.code, "prefix": row.prefix, "default": row.is_default})


_DOCUMENT_BODY = {
    "type": "object", "required": ["title"],
    "properties": {
        "title": {"type": "string", "maxLength": 300},
        "series": {"type": "string", "description": "the agency's series code (see GET /documents/series)"},
        "main_to": {"type": "array", "items": {"type": "integer"}, "description": "主送 agency ids"},
        "cc_to": {"type": "array", "items": {"type": "integer"}, "description": "抄送 agency ids"},
        "countersign": {"type": "array", "items": {"type": ["string", "integer"]},
                        "description": "会签: 'department:<id>' or 'agency:<id>' (a bare number is a department)"},
        "secrecy": {"enum": ["", "秘密", "机密"]}, "urgency": {"enum": ["", "加急", "特急"]},
        "body": {"type": "string", "description": "plain text; lines starting 一、 （一） 1. （1） are headings"},
        "submit": {"type": "boolean"},
    },
}
_ID = [path_param("id")]
@routes.get("/documents/<int:document_id>/attachments/<int:attachment_id>")
def attachment_file(document_id: int, attachment_id: int):
    user = require_user()
    document = access_document(document_id, user, current_roles())
    row = document_attachment(document, attachment_id)
    return Response(row.data, mimetype=row.content_type, headers={
        "Content-Disposition": content_disposition(row.filename), "X-Content-SHA256": row.sha256})


routes.document(paths={
    "/documents": {
        "get": op("Documents in a box: drafts | outgoing | incoming | archive (with search)", params=PAGING + [
            {"name": "box", "in": "query", "schema": {"enum": ["drafts", "outgoing", "incoming", "archive"]}},
            {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "title contains"},
            {"name": "number", "in": "query", "schema": {"type": "string"}},
            {"name": "agency", "in": "query", "schema": {"type": "string"}, "description": "issuer id or name"},
            {"name": "status", "in": "query", "schema": {"type": "string"}},
            {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
            {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}}]),
        "post": op("Draft an outgoing document (and submit it with submit: true)", ok="201", body=_DOCUMENT_BODY),
    },
    "/documents/{id}": {"get": op("One document: number, status, versions, deliveries, case", params=_ID)},
    "/documents/{id}/versions": {"post": op("Save a new version", ok="201", params=_ID, body={
        **_DOCUMENT_BODY, "required": []})},
    "/documents/{id}/diff": {"get": op("Differences between two versions", params=_ID + [
        {"name": "from", "in": "query", "required": True, "schema": {"type": "integer"}},
        {"name": "to", "in": "query", "required": True, "schema": {"type": "integer"}}])},
    "/documents/{id}/submit": {"post": op("Submit the draft (核稿 → 会签 → 签发)", params=_ID,
                                          errors=(401, 403, 404, 409, 422))},
    "/documents/{id}/withdraw": {"post": op("Withdraw before any decision (no number is taken)", params=_ID,
                                            errors=(401, 403, 404, 409))},
    "/documents/{id}/register": {"post": op("登记 and 拟办 a delivered document (the recipient's doc clerk)",
                                            params=_ID, body={"type": "object", "required": ["handlers"], "properties": {
                                                "proposal": {"type": "string"},
                                                "handlers": {"type": "array", "items": {"type": "integer"},
                                                             "description": "承办 department ids"},
                                                "readers": {"type": "array", "items": {"type": ["string", "integer"]},
                                                            "description": "传阅: uids or department ids"}}},
                                            errors=(400, 401, 403, 404, 409, 422))},
    "/documents/paper": {"post": {
        **op("Register a paper document with its scan (doc clerk)", ok="201", errors=(400, 401, 403, 413, 422)),
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["title", "handlers", "file"], "properties": {
                "title": {"type": "string"}, "number": {"type": "string"}, "issuer_name": {"type": "string"},
                "issuer": {"type": "integer"}, "proposal": {"type": "string"},
                "handlers": {"type": "string", "description": "承办 department ids, comma separated"},
                "readers": {"type": "string", "description": "传阅 uids, comma separated"},
                "file": {"type": "string", "format": "binary"}}}}}}}},
    "/documents/{id}/instruct": {"post": op(
        "批办: approve the 批办 task with an instruction, naming the handling departments and their deadline",
        params=_ID, body={"type": "object", "required": ["task_id"], "properties": {
            "task_id": {"type": "integer"}, "comment": {"type": "string"},
            "handlers": {"type": "array", "items": {"type": "integer"}, "description": "承办 department ids"},
            "deadline_days": {"type": "integer", "minimum": 1, "maximum": 60, "description": "working days"},
            "signature": {"type": "string", "description": "data:image/png;base64 handwritten signature"}}},
        errors=(400, 401, 403, 404, 409, 422))},
    "/documents/{id}/record.pdf": {"get": op("The sealed document (PDF)", params=_ID, errors=(401, 404))},
    "/documents/{id}/attachments/{aid}": {"get": op(
        "One attached file (附件) of the document, at the issuer and at every recipient (same bytes and SHA-256)",
        params=_ID + [path_param("aid")], errors=(401, 404))},
    "/documents/{id}/signatures/{sid}.png": {"get": op("A handwritten signature given with a decision",
                                                       params=_ID + [path_param("sid")], errors=(401, 404))},
    "/documents/series": {"get": op("My agency's 发文字号 series")},
    "/documents/series/{code}": {"put": op("Set a series prefix (doc clerk or administrator)", params=[
        path_param("code")], body={"type": "object", "required": ["prefix"], "properties": {
            "prefix": {"type": "string"}, "default": {"type": "boolean"}}})},
})
