"""``/api/v1/audit``: the auditors' search, export and verification of the trail, and on-demand
checkpoints. Everyone but auditors and administrators gets 404."""

from __future__ import annotations

from flask import Response, jsonify, request
from flask_babel import gettext as _

from ..api import ApiRoutes, json_body, paging, require_user
from ..api.openapi import PAGING, op
from ..auth import current_roles
from ..clock import utcnow
from ..errors import ValidationError
from ..sqlite import write_intent
from .actions import do_checkpoint
from .exports import do_export, parse_filters
from .queries import check_can_audit, events_to_json, search_events, verify_trail

routes = ApiRoutes("audit")


@routes.get("/audit/events")
def audit_events():
    require_user()
    check_can_audit(current_roles())
    filters = parse_filters(request.args)
    limit, offset = paging()
    rows, total = search_events(filters, limit=limit, offset=offset)
    return jsonify({"items": events_to_json(rows), "total": total})


@routes.get("/audit/verify")
def audit_verify():
    require_user()
    check_can_audit(current_roles())
    with write_intent(False):
        report = verify_trail()
    return jsonify(report.to_json())


@routes.post("/audit/export")
def audit_export():
    acting_user = require_user()
    roles = current_roles()
    check_can_audit(roles)  # before the body: anyone else gets 404, not a message about it
    data = json_body() if request.get_data() else {}
    filters = data.get("filters") or {}
    if not isinstance(filters, dict):
        raise ValidationError(fields={"filters": _("必须是一个 JSON 对象。")})
    body, mimetype, filename = do_export(data.get("format", "csv"), parse_filters(filters),
                                         acting_user=acting_user, roles=roles, now=utcnow())
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


@routes.post("/audit/checkpoints")
def audit_checkpoint():
    acting_user = require_user()
    check_can_audit(current_roles())
    row = do_checkpoint(acting_user=acting_user, now=utcnow(), roles=current_roles())
    return jsonify({"id": row.id, "seq": row.seq, "hash": row.hash, "signed_at": row.signed_at.isoformat() + "Z",
                    "algorithm": row.algorithm, "key_id": row.key_id}), 201


_FILTERS = [{"name": n, "in": "query", "schema": {"type": t} | ({"format": f} if f else {}), "description": d}
            for n, t, f, d in [
                ("person", "string", None, "uid: events by the person or on their behalf"),
                ("agency", "integer", None, "agency id: events by its people"),
                ("matter", "string", None, "matter type code: events on its cases"),
                ("case", "string", None, "case number or id"),
                ("document", "string", None, "document id"),
                ("action", "string", None, "an action, or a prefix ending in '.'"),
                ("from", "string", "date-time", "from this time (inclusive; a date means its start)"),
                ("to", "string", "date-time", "before this time (a date means the end of that day)")]]
_FILTER_SCHEMA = {"type": "object", "properties": {
    p["name"]: {"type": "string"} if p["name"] != "agency" else {"type": "integer"} for p in _FILTERS}}

routes.document(paths={
    "/audit/events": {"get": op("Search the audit trail (auditors and administrators)", params=_FILTERS + PAGING)},
    "/audit/verify": {"get": op("Verify the chain, the checkpoints and the anchor file: "
                                "{ok, checked, first_bad, checkpoints_ok, last_checkpoint, problems}")},
    "/audit/export": {"post": op("Export matching events as CSV (UTF-8 with BOM) or JSON; the export is audited",
                                 body={"type": "object", "properties": {
                                     "format": {"type": "string", "enum": ["csv", "json"]},
                                     "filters": _FILTER_SCHEMA}})},
    "/audit/checkpoints": {"post": op("Sign the chain's head now (auditors and administrators)", ok="201",
                                      errors=(400, 401, 403, 404, 409))},
})
