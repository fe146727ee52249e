"""``/api/v1/cases/<id>/attachments``: upload, list and download a case's files.

Whoever may not see the case gets 404 on all three (:func:`access_case`). The request size is
bounded by Flask's ``MAX_CONTENT_LENGTH`` (``IA_MAX_UPLOAD_MB``); Werkzeug's 413 becomes the
JSON error ``too_large``.
"""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import quote

from flask import Response, jsonify, request
from flask_babel import gettext as _

from ..api import ApiRoutes, require_user
from ..api.openapi import op, path_param
from ..auth import current_roles
from ..clock import utcnow
from ..errors import ValidationError
from .access import access_case
from .attachments import EXTENSIONS, FALLBACK_NAME, attachment_to_json, do_upload_attachment, \
    do_withdraw_attachment, get_attachment, list_attachments

__all__ = ["content_disposition", "routes"]

routes = ApiRoutes("attachments")


def content_disposition(filename: str, content_type: str = "") -> str:
    """``attachment`` with an ASCII ``filename`` for old clients and the exact name as RFC 5987
    ``filename*`` (UTF-8, percent-encoded)."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = "".join(ch for ch in ascii_name if 0x20 <= ord(ch) < 0x7F and ch not in '"\\;%').strip()
    stem = ascii_name.rsplit(".", 1)[0].strip(" ._-")
    if not stem:
        ext = EXTENSIONS.get(content_type)
        ascii_name = "attachment" + ("." + ext if ext else "")
    encoded = quote(filename or FALLBACK_NAME, safe="")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"


@routes.post("/cases/<int:case_id>/attachments")
def upload_attachment(case_id: int):
    user = require_user()
    case = access_case(case_id, user, current_roles())
    upload = request.files.get("file")
    material = request.form.get("material", "").strip()
    problems: dict[str, Any] = {}
    if upload is None:
        problems["file"] = _("请选择要上传的文件。")
    if not material:
        problems["material"] = _("请指定材料。")
    if problems:
        raise ValidationError(fields=problems)
    attachment = do_upload_attachment(case, material, upload.filename or "", upload.read(), acting_user=user,
                                      now=utcnow())
    return jsonify(attachment_to_json(attachment)), 201


@routes.get("/cases/<int:case_id>/attachments")
def case_attachments(case_id: int):
    user = require_user()
    case = access_case(case_id, user, current_roles())
    return jsonify([attachment_to_json(a) for a in list_attachments(case)])


@routes.get("/cases/<int:case_id>/attachments/<int:attachment_id>")
def download_attachment(case_id: int, attachment_id: int):
    user = require_user()
    case = access_case(case_id, user, current_roles())
    attachment = get_attachment(case, attachment_id)
    response = Response(attachment.data, mimetype=attachment.content_type)
    response.headers["Content-Disposition"] = content_disposition(attachment.filename, attachment.content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["ETag"] = f'"{attachment.sha256}"'
    return response


@routes.delete("/cases/<int:case_id>/attachments/<int:attachment_id>")
def withdraw_attachment(case_id: int, attachment_id: int):
    user = require_user()
    case = access_case(case_id, user, current_roles())
    do_withdraw_attachment(case, attachment_id, acting_user=user, now=utcnow())
    return "", 204


_ATTACHMENT = {"type": "object", "properties": {
    "id": {"type": "integer"}, "material": {"type": "string"}, "filename": {"type": "string"},
    "content_type": {"type": "string"}, "kind": {"type": "string", "enum": ["pdf", "image", "office", "ofd"]},
    "size": {"type": "integer"}, "sha256": {"type": "string"}, "uploaded_by": {"type": "string"},
    "uploaded_at": {"type": "string", "format": "date-time"}, "withdrawn": {"type": "boolean"}}}


def _upload_op() -> dict[str, Any]:
    spec = op("Upload a file for one of the case's materials (the applicant, while the case is open)", ok="201",
             params=[path_param("id")], errors=(400, 401, 403, 404, 409, 413, 422))
    spec["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file", "material"],
        "properties": {"file": {"type": "string", "format": "binary"}, "material": {"type": "string"}}}}}}
    spec["responses"]["201"]["content"] = {"application/json": {"schema": _ATTACHMENT}}
    return spec


routes.document(paths={
    "/cases/{id}/attachments": {
        "post": _upload_op(),
        "get": op("The case's attachments", params=[path_param("id")], errors=(401, 404)),
    },
    "/cases/{id}/attachments/{attachment_id}": {
        "get": op("Download an attachment (Content-Disposition: attachment)",
                   params=[path_param("id"), path_param("attachment_id")], errors=(401, 404)),
        "delete": op("Withdraw a file uploaded by mistake (the applicant, while the case is a draft or returned); "
                     "it is kept for the record, marked withdrawn", ok="204",
                     params=[path_param("id"), path_param("attachment_id")], errors=(401, 403, 404, 409)),
    },
})
