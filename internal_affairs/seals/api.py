"""``/api/v1``: a finished case's sealed record (``GET /cases/{id}/record.pdf``) and verifying
any PDF (``POST /verify``)."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, jsonify, request
from flask_babel import gettext as _

from ..api import ApiRoutes, require_user
from ..api.openapi import op, path_param
from ..auth import current_roles
from ..cases.access import access_case
from ..errors import NotFound, ValidationError
from .queries import get_record
from .verification import check_verify_pdf

__all__ = ["routes"]

routes = ApiRoutes("seals")
RETRY_AFTER = 5
"""Seconds a client waits before asking again for a record being sealed."""


@routes.get("/cases/<int:case_id>/record.pdf")
def case_record(case_id: int):
    user = require_user()
    case = access_case(case_id, user, current_roles())
    record = get_record(case.id)
    if record is None:
        raise NotFound(_("该办件尚未办结，还没有办理记录。"), code="no_record")
    if record.status != "sealed" or record.pdf is None:
        body = {"status": record.status, "message": _("盖章中，请稍后再试。")}
        return jsonify(body), 202, {"Retry-After": str(RETRY_AFTER), "Cache-Control": "no-store"}
    response = Response(record.pdf, mimetype="application/pdf")
    name = f"{case.number or case.id}.pdf"
    response.headers["Content-Disposition"] = f"attachment; filename=\"record-{case.id}.pdf\"; filename*=UTF-8''{quote(name)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["ETag"] = f'"{record.sha256}"'
    return response


@routes.post("/verify")
def verify():
    require_user()
    upload = request.files.get("file")
    if upload is None:
        raise ValidationError(_("请选择要验证的 PDF 文件。"), fields={"file": _("请选择要验证的 PDF 文件。")})
    return jsonify(check_verify_pdf(upload.read()))


_SIGNATURE = {"type": "object", "properties": {
    "signer": {"type": "string"}, "organization": {"type": "string"}, "seal": {"type": "string"},
    "signed_at": {"type": "string", "format": "date-time", "nullable": True},
    "time_source": {"type": "string", "enum": ["tsa", "local"]}, "intact": {"type": "boolean"},
    "trusted": {"type": "boolean"}, "revoked": {"type": "boolean"}, "certification": {"type": "boolean"},
    "covers_whole_document": {"type": "boolean"}, "modified_after": {"type": "array", "items": {"type": "string"}},
    "modification_allowed": {"type": "boolean"}, "level": {"type": "string", "enum": ["B-B", "B-T", "B-LT", "B-LTA"]},
    "certificate_serial": {"type": "string"}, "valid": {"type": "boolean"},
    "summary": {"type": "array", "items": {"type": "string"}}}}

_verify_op = op("Verify the signatures and seals of any PDF (multipart field `file`)", errors=(401, 413, 422))
_verify_op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}}}}}
_verify_op["responses"]["200"] = {"description": "the report", "content": {"application/json": {"schema": {
    "type": "object", "properties": {"valid": {"type": "boolean"}, "message": {"type": "string"},
                                     "document_timestamps": {"type": "integer"},
                                     "signatures": {"type": "array", "items": _SIGNATURE}}}}}}
_record_op = op("The sealed record (PDF) of a finished case; 202 with Retry-After while it is being sealed",
                params=[path_param("id")], errors=(401, 404))
_record_op["responses"]["200"] = {"description": "the sealed PDF", "content": {"application/pdf": {}}}
_record_op["responses"]["202"] = {"description": "being sealed; try again after Retry-After seconds"}

routes.document(paths={"/cases/{id}/record.pdf": {"get": _record_op}, "/verify": {"post": _verify_op}})
