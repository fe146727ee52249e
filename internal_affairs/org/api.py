"""Org endpoints: agencies, people with their leader chains, directory sync runs."""

from __future__ import annotations

from flask import current_app, jsonify, request

from ..api import _bool_field, bp, json_body, paging, require_user
from ..auth import current_roles
from ..clock import utcnow
from ..errors import ValidationError
from .actions import check_can_sync, check_can_view_sync, do_apply_run, do_set_default_deputy, do_sync
from .queries import (get_agencies_tree, get_agency_json, get_hr_scope, get_person_by_uid, get_sync_run, get_sync_runs,
                      person_to_json, plan_for_agencies, run_counts)


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


@bp.get("/org/agencies")
def agencies():
    require_user()
    return jsonify({"items": get_agencies_tree()})


@bp.get("/org/agencies/<int:agency_id>")
def agency(agency_id: int):
    require_user()
    return jsonify(get_agency_json(agency_id))


@bp.get("/org/people/<uid>")
def person(uid: str):
    require_user()
    return jsonify(person_to_json(get_person_by_uid(uid), detail=True))


@bp.put("/org/people/<uid>/default-deputy")
def set_default_deputy(uid: str):
    actor = require_user()
    data = json_body()
    deputy_uid = data.get("deputy")
    if deputy_uid is not None and not isinstance(deputy_uid, str):
        raise ValidationError(fields={"deputy": "必须是用户名（uid）或 null"})
    target = get_person_by_uid(uid)
    deputy = get_person_by_uid(deputy_uid) if deputy_uid else None
    do_set_default_deputy(target, deputy, acting_user=actor, roles=current_roles(), now=utcnow())
    return jsonify(person_to_json(target, detail=True))


@bp.post("/org/sync")
def sync():
    actor = require_user()
    check_can_sync(actor, get_hr_scope(actor, current_roles()))
    data = json_body() if request.get_data() else {}
    dry_run = _bool_field(data, "dry_run", False)
    full = _bool_field(data, "full", False)
    force = _bool_field(data, "force", False)
    apply_run = data.get("apply_run")
    if apply_run is not None:
        if not isinstance(apply_run, int) or isinstance(apply_run, bool):
            raise ValidationError(fields={"apply_run": "必须是预览记录的编号"})
        run = do_apply_run(apply_run, acting_user=actor, config=current_app.config, now=utcnow(), force=force)
    else:
        run = do_sync(acting_user=actor, config=current_app.config, now=utcnow(), source="ldap",
                      dry_run=dry_run, full=full, force=force)
    return jsonify(run_to_json(run)), 200 if dry_run else 201


@bp.get("/org/sync-runs")
def sync_runs():
    actor = require_user()
    scope = get_hr_scope(actor, current_roles())
    check_can_view_sync(actor, scope)
    limit, offset = paging()
    runs, total = get_sync_runs(limit, offset)
    return jsonify({"items": [run_to_json(r, with_plan=False, scope=scope) for r in runs], "total": total})


@bp.get("/org/sync-runs/<int:run_id>")
def sync_run(run_id: int):
    actor = require_user()
    scope = get_hr_scope(actor, current_roles())
    check_can_view_sync(actor, scope)
    return jsonify(run_to_json(get_sync_run(run_id), scope=scope))
