"""Org endpoints: agencies, people with their leader chains, directory sync runs."""

from __future__ import annotations

from flask import current_app, jsonify, request

from ..api import ApiRoutes, bool_field, json_body, paging, require_user
from ..api.openapi import PAGING, op, path_param
from ..auth import current_roles
from ..clock import utcnow
from ..errors import ValidationError
from .actions import check_can_sync, check_can_view_sync, do_apply_run, do_set_default_deputy, do_sync
from .queries import (get_agencies_tree, get_agency_json, get_hr_scope, get_person_by_uid, get_sync_run, get_sync_runs,
                      person_to_json, plan_for_agencies, run_counts)

routes = ApiRoutes("org")


def run_to_json(run, *, with_plan: bool = True, scope=None) -> dict:
    """A sync run; for an agency's HR (``scope`` not district) only their agencies' part of it."""
    district = scope is None or scope.district
    data = {
        "id": run.id, "started_at": run.started_at.isoformat() + "Z",
        "finished_at": run.finished_at.isoformat() + "Z" if run.finished_at else None,
        "actor": run.actor_label, "source": run.source, "mode": run.mode, "dry_run": run.dry_run,
        "forced": run.forced, "status": run.status, "people_seen": run.people_seen,
        "counts": run.counts if district else run_counts(run, scope), "errors": run.errors if district else [],
        "scope": "district" if district else "agency",
    }
    if with_plan:
        data["plan"] = run.plan if district else plan_for_agencies(run.plan or {}, scope.agency_external_ids)
    return data


@routes.get("/org/agencies")
def agencies():
    require_user()
    return jsonify({"items": get_agencies_tree()})


@routes.get("/org/agencies/<int:agency_id>")
def agency(agency_id: int):
    require_user()
    return jsonify(get_agency_json(agency_id))


@routes.get("/org/people/<uid>")
def person(uid: str):
    require_user()
    return jsonify(person_to_json(get_person_by_uid(uid), detail=True))


@routes.put("/org/people/<uid>/default-deputy")
def set_default_deputy(uid: str):
    acting_user = require_user()
    data = json_body()
    deputy_uid = data.get("deputy")
    if deputy_uid is not None and not isinstance(deputy_uid, str):
        raise ValidationError(fields={"deputy": "必须是用户名（uid）或 null"})
    target = get_person_by_uid(uid)
    deputy = get_person_by_uid(deputy_uid) if deputy_uid else None
    do_set_default_deputy(target, deputy, acting_user=acting_user, roles=current_roles(), now=utcnow())
    return jsonify(person_to_json(target, detail=True))


@routes.post("/org/sync")
def sync():
    acting_user = require_user()
    check_can_sync(acting_user, get_hr_scope(acting_user, current_roles()))
    data = json_body() if request.get_data() else {}
    dry_run = bool_field(data, "dry_run", False)
    full = bool_field(data, "full", False)
    force = bool_field(data, "force", False)
    apply_run = data.get("apply_run")
    if apply_run is not None:
        if not isinstance(apply_run, int) or isinstance(apply_run, bool):
            raise ValidationError(fields={"apply_run": "必须是预览记录的编号"})
        run = do_apply_run(apply_run, acting_user=acting_user, config=current_app.config, now=utcnow(), force=force)
    else:
        run = do_sync(acting_user=acting_user, config=current_app.config, now=utcnow(), source="ldap",
                      dry_run=dry_run, full=full, force=force)
    return jsonify(run_to_json(run)), 200 if dry_run else 201


@routes.get("/org/sync-runs")
def sync_runs():
    acting_user = require_user()
    scope = get_hr_scope(acting_user, current_roles())
    check_can_view_sync(acting_user, scope)
    limit, offset = paging()
    runs, total = get_sync_runs(limit, offset)
    return jsonify({"items": [run_to_json(r, with_plan=False, scope=scope) for r in runs], "total": total})


@routes.get("/org/sync-runs/<int:run_id>")
def sync_run(run_id: int):
    acting_user = require_user()
    scope = get_hr_scope(acting_user, current_roles())
    check_can_view_sync(acting_user, scope)
    return jsonify(run_to_json(get_sync_run(run_id), scope=scope))


routes.document(paths={
    "/org/agencies": {"get": op("Active agencies with their departments")},
    "/org/agencies/{id}": {"get": op("One agency", params=[path_param("id")])},
    "/org/people/{uid}": {"get": op("A person with manager, rank, cadre category, roles, leader chain, default deputy",
                                     params=[path_param("uid")])},
    "/org/people/{uid}/default-deputy": {"put": op(
        "Set a person's default deputy (the person, HR of the agency or administrators); a deputy set here is "
        "never overridden by the directory's secretary attribute", params=[path_param("uid")],
        body={"type": "object", "properties": {"deputy": {"type": ["string", "null"]}}})},
    "/org/sync": {"post": op("Sync the whole district's org chart from the directory (district HR: administrators "
                             "or HR of the district HR agency)", ok="201", body={
        "type": "object", "properties": {"dry_run": {"type": "boolean"}, "full": {"type": "boolean"},
                                         "force": {"type": "boolean"}, "apply_run": {"type": "integer"}}},
        errors=(400, 401, 403, 404, 409, 422, 503))},
    "/org/sync-runs": {"get": op("Recorded sync runs, newest first (HR; an agency's HR sees the counts of its "
                                 "own agency's changes)", params=PAGING)},
    "/org/sync-runs/{run_id}": {"get": op("One sync run with its plan (an agency's HR sees its own agency's "
                                          "changes)", params=[path_param("run_id")])},
})
