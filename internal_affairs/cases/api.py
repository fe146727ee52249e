"""``/api/v1/cases``, ``/api/v1/tasks`` and ``/api/v1/inbox``."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask_babel import gettext as _

from ..api import _bool_field, bp, json_body, paging, require_user
from ..auth import current_roles
from ..clock import utcnow
from ..errors import ValidationError
from . import actions
from .access import access_case
from .queries import case_to_json, get_inbox


def _admins() -> tuple[str, ...]:
    return tuple(current_app.config.get("SYSTEM_ADMINS", ()))


def _only(data: dict, allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationError(fields={k[:100]: _("未知参数。") for k in unknown[:20]})


def _case_response(case, viewer, status: int = 200):
    return jsonify(case_to_json(case, viewer)), status


@bp.post("/cases")
def create_case():
    user = require_user()
    data = json_body()
    _only(data, {"matter_type", "form", "submit", "deferred_materials"})
    if "matter_type" not in data:
        raise ValidationError(fields={"matter_type": _("请指定事项。")})
    form = data.get("form", {})
    if not isinstance(form, dict):
        raise ValidationError(fields={"form": _("表单必须是对象。")})
    case = actions.do_create_case(data["matter_type"], form, applicant=user, now=utcnow(),
                                  submit=_bool_field(data, "submit", True), system_admins=_admins(),
                                  deferred=data.get("deferred_materials") or {})
    return _case_response(case, user, 201)


@bp.get("/cases/<int:case_id>")
def get_case(case_id: int):
    user = require_user()
    return _case_response(access_case(case_id, user, current_roles()), user)


@bp.patch("/cases/<int:case_id>")
def update_draft(case_id: int):
    user = require_user()
    data = json_body()
    _only(data, {"form"})
    if not isinstance(data.get("form"), dict):
        raise ValidationError(fields={"form": _("表单必须是对象。")})
    case = access_case(case_id, user, current_roles())
    return _case_response(actions.do_update_draft(case, data["form"], acting_user=user, now=utcnow()), user)


@bp.post("/cases/<int:case_id>/submit")
def submit_case(case_id: int):
    user = require_user()
    data = json_body() if request.get_data() else {}
    _only(data, {"deferred_materials"})
    case = access_case(case_id, user, current_roles())
    case = actions.do_submit_case(case, applicant=user, now=utcnow(), system_admins=_admins(),
                                  deferred=data.get("deferred_materials") or {})
    return _case_response(case, user)


@bp.post("/cases/<int:case_id>/withdraw")
def withdraw_case(case_id: int):
    user = require_user()
    data = json_body() if request.get_data() else {}
    _only(data, {"comment", "reason"})
    case = access_case(case_id, user, current_roles())
    return _case_response(actions.do_withdraw_case(case, acting_user=user, now=utcnow(),
                                                   reason=data.get("reason") or data.get("comment")), user)


@bp.post("/cases/<int:case_id>/resubmit")
def resubmit_case(case_id: int):
    user = require_user()
    data = json_body()
    _only(data, {"form"})
    form = data.get("form")
    if form is not None and not isinstance(form, dict):
        raise ValidationError(fields={"form": _("表单必须是对象。")})
    case = access_case(case_id, user, current_roles())
    return _case_response(actions.do_resubmit(case, form, acting_user=user, now=utcnow(), system_admins=_admins()), user)


@bp.post("/cases/<int:case_id>/remind")
def remind_case(case_id: int):
    user = require_user()
    case = access_case(case_id, user, current_roles())
    actions.do_remind(case, acting_user=user, now=utcnow())
    return _case_response(case, user)


@bp.post("/cases/<int:case_id>/cc")
def cc_case(case_id: int):
    user = require_user()
    data = json_body()
    _only(data, {"to"})
    case = access_case(case_id, user, current_roles())
    return _case_response(actions.do_cc(case, data.get("to"), acting_user=user, now=utcnow()), user)


@bp.post("/tasks/<int:task_id>/decision")
def decide(task_id: int):
    user = require_user()
    data = json_body()
    _only(data, {"decision", "comment", "to_step"})
    case = actions.do_decide(task_id, data.get("decision"), acting_user=user, roles=current_roles(), now=utcnow(),
                             comment=data.get("comment"), to_step=data.get("to_step"))
    return _case_response(case, user)


def _task_action(task_id: int, action, extra: set[str] = frozenset(), **kwargs):
    user = require_user()
    data = json_body()
    _only(data, {"to", "comment"} | set(extra))
    params = {k: data[k] for k in extra if k in data}
    case = action(task_id, data.get("to"), acting_user=user, roles=current_roles(), now=utcnow(),
                  comment=data.get("comment"), **params, **kwargs)
    return _case_response(case, user)


@bp.post("/tasks/<int:task_id>/transfer")
def transfer(task_id: int):
    return _task_action(task_id, actions.do_transfer)


@bp.post("/tasks/<int:task_id>/consult")
def consult(task_id: int):
    return _task_action(task_id, actions.do_consult)


@bp.post("/tasks/<int:task_id>/add-approver")
def add_approver(task_id: int):
    return _task_action(task_id, actions.do_add_approver, extra={"position"})


@bp.post("/tasks/<int:task_id>/remove-approver")
def remove_approver(task_id: int):
    user = require_user()
    case = actions.do_remove_approver(task_id, acting_user=user, roles=current_roles(), now=utcnow())
    return _case_response(case, user)


@bp.post("/tasks/<int:task_id>/withdraw-decision")
def withdraw_decision(task_id: int):
    user = require_user()
    case = actions.do_withdraw_decision(task_id, acting_user=user, roles=current_roles(), now=utcnow())
    return _case_response(case, user)


@bp.post("/tasks/batch-decision")
def batch_decision():
    user = require_user()
    data = json_body()
    _only(data, {"task_ids", "decision", "comment"})
    results = actions.do_batch_decision(data.get("task_ids"), data.get("decision"), acting_user=user,
                                        roles=current_roles(), now=utcnow(), comment=data.get("comment"))
    return jsonify({"results": results})


@bp.get("/inbox")
def inbox():
    user = require_user()
    limit, offset = paging()
    items, total, counts = get_inbox(user, request.args.get("box", "todo"), limit=limit,
                                     offset=offset, query=request.args.get("q") or None)
    return jsonify({"items": items, "total": total, "counts": counts})
