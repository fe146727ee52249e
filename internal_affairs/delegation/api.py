"""``/api/v1/delegations``: list, create, revoke and confirm delegations (DESIGN §10)."""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _

from ..api import ApiRoutes, json_body, only_fields, require_user
from ..api.openapi import op, path_param
from ..auth import current_roles
from ..clock import utcnow
from ..org.models import Person
from ..org.queries import get_hr_scope
from .actions import (do_confirm_delegation, do_create_delegation, do_revoke_delegation, parse_instant,
                      parse_person)
from .queries import access_delegation, delegation_to_json, get_delegations

routes = ApiRoutes("delegation")


@routes.get("/delegations")
def list_delegations():
    person = require_user()
    now = utcnow()
    agencies = ()
    if request.args.get("scope") == "agency":
        agencies = get_hr_scope(person, current_roles()).agency_ids
    rows = get_delegations(person, now=now, include_past=request.args.get("past", "1") != "0", agency_ids=agencies)
    return jsonify({"items": [delegation_to_json(r, now) for r in rows], "total": len(rows)})


@routes.post("/delegations")
def create_delegation():
    acting_user = require_user()
    data = json_body()
    only_fields(data, {"principal", "delegate", "starts_at", "ends_at", "matter_types", "reason"})
    principal = acting_user
    if data.get("principal") not in (None, acting_user.uid):
        # only HR and administrators get past the action's check
        principal = parse_person(data["principal"], "principal", _("委托人"))
    delegate = parse_person(data.get("delegate"), "delegate", _("代理人"))
    starts_at = parse_instant(data.get("starts_at"), "starts_at")
    ends_at = parse_instant(data.get("ends_at"), "ends_at", end_of_day=True)
    now = utcnow()
    row = do_create_delegation(principal, delegate, starts_at, ends_at, acting_user=acting_user, now=now,
                               matter_types=data.get("matter_types"), reason=data.get("reason"))
    return jsonify(delegation_to_json(row, now)), 201


def _row(delegation_id: int, person: Person):
    return access_delegation(delegation_id, person, current_roles())


@routes.get("/delegations/<int:delegation_id>")
def show_delegation(delegation_id: int):
    person = require_user()
    return jsonify(delegation_to_json(_row(delegation_id, person), utcnow()))


@routes.delete("/delegations/<int:delegation_id>")
def revoke_delegation(delegation_id: int):
    acting_user = require_user()
    now = utcnow()
    row = do_revoke_delegation(_row(delegation_id, acting_user), acting_user=acting_user, now=now)
    return jsonify(delegation_to_json(row, now))


@routes.post("/delegations/<int:delegation_id>/confirm")
def confirm_delegation(delegation_id: int):
    acting_user = require_user()
    now = utcnow()
    row = do_confirm_delegation(_row(delegation_id, acting_user), acting_user=acting_user, now=now)
    return jsonify(delegation_to_json(row, now))


_DELEGATION_BODY = {
    "type": "object", "required": ["delegate", "starts_at", "ends_at"],
    "properties": {
        "delegate": {"type": "string", "description": "uid of the delegate"},
        "principal": {"type": "string", "description": "uid of the principal (HR and administrators only)"},
        "starts_at": {"type": "string", "description": "ISO 8601; without an offset: Asia/Shanghai"},
        "ends_at": {"type": "string", "description": "ISO 8601; a bare date: the end of that day"},
        "matter_types": {"type": ["array", "null"], "items": {"type": "string"},
                         "description": "matter type codes; absent or null: all matters"},
        "reason": {"type": "string"}}}

routes.document(paths={
    "/delegations": {
        "get": op("Delegations given and received (scope=agency: HR's agencies too; past=0: not over yet)", params=[
            {"name": "scope", "in": "query", "schema": {"type": "string", "enum": ["mine", "agency"]}},
            {"name": "past", "in": "query", "schema": {"type": "string", "enum": ["0", "1"]}}]),
        "post": op("Delegate one's tasks (HR: anyone's in their agencies) for a window", ok="201",
                   body=_DELEGATION_BODY, errors=(400, 401, 403, 422)),
    },
    "/delegations/{id}": {
        "get": op("One delegation with its state", params=[path_param("id")], errors=(401, 404)),
        "delete": op("Revoke a delegation (kept, marked revoked)", params=[path_param("id")],
                     errors=(401, 403, 404, 409)),
    },
    "/delegations/{id}/confirm": {"post": op("Confirm a delegation the platform proposed",
                                             params=[path_param("id")], errors=(401, 403, 404, 409))},
})
