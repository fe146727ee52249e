"""``/api/v1/cases``, ``/api/v1/tasks`` and ``/api/v1/inbox``."""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _

from ..api import ApiRoutes, bool_field, json_body, only_fields, paging, require_user
from ..api.openapi import PAGING, op, path_param, ref
from ..auth import current_roles
from ..clock import utcnow
from ..errors import ValidationError
from ..org.queries import system_admins
from . import actions
from .access import access_case
from .queries import case_to_json, get_inbox

routes = ApiRoutes("cases")


def _case_response(case, viewer, status: int = 200):
    return jsonify(case_to_json(case, viewer)), status


@routes.post("/cases")
def create_case():
    user = require_user()
    data = json_body()
    only_fields(data, {"matter_type", "form", "submit", "deferred_materials"})
    if "matter_type" not in data:
        raise ValidationError(fields={"matter_type": _("请指定事项。")})
    form = data.get("form", {})
    if not isinstance(form, dict):
        raise ValidationError(fields={"form": _("表单必须是对象。")})
    case = actions.do_create_case(data["matter_type"], form, applicant=user, now=utcnow(),
                                  submit=bool_field(data, "submit", True), system_admins=system_admins(),
                                  deferred=data.get("deferred_materials") or {})
    return _case_response(case, user, 201)


@routes.get("/cases/<int:case_id>")
def get_case(case_id: int):
    user = require_user()
    return _case_response(access_case(case_id, user, current_roles()), user)


@routes.patch("/cases/<int:case_id>")
def update_draft(case_id: int):
    user = require_user()
    data = json_body()
    only_fields(data, {"form"})
    if not isinstance(data.get("form"), dict):
        raise ValidationError(fields={"form": _("表单必须是对象。")})
    case = access_case(case_id, user, current_roles())
    return _case_response(actions.do_update_draft(case, data["form"], acting_user=user, now=utcnow()), user)


@routes.post("/cases/<int:case_id>/submit")
def submit_case(case_id: int):
    user = require_user()
    data = json_body() if request.get_data() else {}
    only_fields(data, {"deferred_materials"})
    case = access_case(case_id, user, current_roles())
    case = actions.do_submit_case(case, applicant=user, now=utcnow(), system_admins=system_admins(),
                                  deferred=data.get("deferred_materials") or {})
    return _case_response(case, user)


@routes.post("/cases/<int:case_id>/withdraw")
def withdraw_case(case_id: int):
    user = require_user()
    data = json_body() if request.get_data() else {}
    only_fields(data, {"comment", "reason"})
    case = access_case(case_id, user, current_roles())
    return _case_response(actions.do_withdraw_case(case, acting_user=user, now=utcnow(),
                                                   reason=data.get("reason") or data.get("comment")), user)


@routes.post("/cases/<int:case_id>/resubmit")
def resubmit_case(case_id: int):
    user = require_user()
    data = json_body()
    only_fields(data, {"form"})
    form = data.get("form")
    if form is not None and not isinstance(form, dict):
        raise ValidationError(fields={"form": _("表单必须是对象。")})
    case = access_case(case_id, user, current_roles())
    return _case_response(actions.do_resubmit(case, form, acting_user=user, now=utcnow(),
                                              system_admins=system_admins()), user)


@routes.post("/cases/<int:case_id>/remind")
def remind_case(case_id: int):
    user = require_user()
    case = access_case(case_id, user, current_roles())
    actions.do_remind(case, acting_user=user, now=utcnow())
    return _case_response(case, user)


@routes.post("/cases/<int:case_id>/cc")
def cc_case(case_id: int):
    user = require_user()
    data = json_body()
    only_fields(data, {"to"})
    case = access_case(case_id, user, current_roles())
    return _case_response(actions.do_cc(case, data.get("to"), acting_user=user, now=utcnow()), user)


@routes.post("/tasks/<int:task_id>/decision")
def decide(task_id: int):
    user = require_user()
    data = json_body()
    only_fields(data, {"decision", "comment", "to_step", "signature"})
    signature = None
    if data.get("signature") is not None:
        from ..documents.actions import decode_signature

        signature = decode_signature(data["signature"])
    case = actions.do_decide(task_id, data.get("decision"), acting_user=user, roles=current_roles(), now=utcnow(),
                             comment=data.get("comment"), to_step=data.get("to_step"), signature=signature)
    return _case_response(case, user)


def _task_action(task_id: int, action, extra: set[str] = frozenset(), **kwargs):
    user = require_user()
    data = json_body()
    only_fields(data, {"to", "comment"} | set(extra))
    params = {k: data[k] for k in extra if k in data}
    case = action(task_id, data.get("to"), acting_user=user, roles=current_roles(), now=utcnow(),
                  comment=data.get("comment"), **params, **kwargs)
    return _case_response(case, user)


@routes.post("/tasks/<int:task_id>/transfer")
def transfer(task_id: int):
    return _task_action(task_id, actions.do_transfer)


@routes.post("/tasks/<int:task_id>/consult")
def consult(task_id: int):
    return _task_action(task_id, actions.do_consult)


@routes.post("/tasks/<int:task_id>/add-approver")
def add_approver(task_id: int):
    return _task_action(task_id, actions.do_add_approver, extra={"position"})


@routes.post("/tasks/<int:task_id>/remove-approver")
def remove_approver(task_id: int):
    user = require_user()
    case = actions.do_remove_approver(task_id, acting_user=user, roles=current_roles(), now=utcnow())
    return _case_response(case, user)


@routes.post("/tasks/<int:task_id>/withdraw-decision")
def withdraw_decision(task_id: int):
    user = require_user()
    case = actions.do_withdraw_decision(task_id, acting_user=user, roles=current_roles(), now=utcnow())
    return _case_response(case, user)


@routes.post("/tasks/batch-decision")
def batch_decision():
    user = require_user()
    data = json_body()
    only_fields(data, {"task_ids", "decision", "comment"})
    results = actions.do_batch_decision(data.get("task_ids"), data.get("decision"), acting_user=user,
                                        roles=current_roles(), now=utcnow(), comment=data.get("comment"))
    return jsonify({"results": results})


@routes.get("/inbox")
def inbox():
    user = require_user()
    limit, offset = paging()
    items, total, counts = get_inbox(user, request.args.get("box", "todo"), limit=limit,
                                     offset=offset, query=request.args.get("q") or None)
    return jsonify({"items": items, "total": total, "counts": counts})


TO = {"type": "object", "required": ["to"], "properties": {"to": {"type": "string"}, "comment": {"type": "string"}}}
UIDS = {"type": "object", "required": ["to"], "properties": {"to": {"type": "array", "items": {"type": "string"}}}}
DEFERRED = {"type": "object", "properties": {"deferred_materials": {"type": "object",
                                                                   "additionalProperties": {"type": "string"}}}}

routes.document(paths={
    "/cases": {"post": op("Create a case; submit at once unless submit=false", ok="201", body={
        "type": "object", "required": ["matter_type"],
        "properties": {"matter_type": {"type": "string"}, "form": ref("Form"), "submit": {"type": "boolean"},
                       "deferred_materials": {"type": "object", "additionalProperties": {"type": "string"},
                                              "description": "容缺受理: material code → written commitment"}}},
        errors=(400, 401, 404, 409, 422))},
    "/cases/{id}": {"get": op("A case with its steps, tasks, CC, attachments", params=[path_param("id")]),
                    "patch": op("Change a draft's form", params=[path_param("id")],
                                body={"type": "object", "required": ["form"], "properties": {"form": ref("Form")}},
                                errors=(400, 401, 403, 404, 409, 422))},
    "/cases/{id}/submit": {"post": op("Submit a draft", params=[path_param("id")], body=DEFERRED,
                                       errors=(400, 401, 403, 404, 409, 422))},
    "/cases/{id}/withdraw": {"post": op("The applicant withdraws before any decision", params=[path_param("id")],
                                         body={"type": "object", "properties": {"reason": {"type": "string"}}},
                                         errors=(400, 401, 403, 404, 409))},
    "/cases/{id}/resubmit": {"post": op("Resubmit a returned case with an amended form", params=[path_param("id")],
                                         body={"type": "object", "properties": {"form": ref("Form")}},
                                         errors=(400, 401, 403, 404, 409, 422))},
    "/cases/{id}/remind": {"post": op("催办 the holders of the open tasks (rate-limited)", params=[path_param("id")],
                                       errors=(401, 403, 404, 409, 429))},
    "/cases/{id}/cc": {"post": op("抄送", params=[path_param("id")], body=UIDS)},
    "/tasks/{id}/decision": {"post": op("Decide a task", params=[path_param("id")], body={
        "type": "object", "required": ["decision"],
        "properties": {"decision": {"enum": ["approve", "reject", "return", "done", "read"]},
                       "comment": {"type": "string"},
                       "to_step": {"type": ["string", "integer"], "description": "return to an earlier step"},
                       "signature": {"type": "string", "description": "an official document's task only: the "
                                     "handwritten signature as a data:image/png;base64 URL (≤ 200 KB)"}}},
        errors=(400, 401, 403, 404, 409, 422))},
    "/tasks/{id}/transfer": {"post": op("转办 to another person", params=[path_param("id")], body=TO,
                                         errors=(400, 401, 403, 404, 409, 422))},
    "/tasks/{id}/consult": {"post": op("征询意见: the task waits for the opinion", params=[path_param("id")], body=TO,
                                        errors=(400, 401, 403, 404, 409, 422))},
    "/tasks/{id}/add-approver": {"post": op("加签 before or after the holder", params=[path_param("id")], body={
        "type": "object", "required": ["to"], "properties": {"to": {"type": "string"}, "comment": {"type": "string"},
                                                              "position": {"enum": ["before", "after"]}}},
        errors=(400, 401, 403, 404, 409, 422))},
    "/tasks/{id}/remove-approver": {"post": op("减签: cancel an approver one added", params=[path_param("id")],
                                                errors=(401, 403, 404, 409))},
    "/tasks/{id}/withdraw-decision": {"post": op("Take back one's own decision while the next step has not acted",
                                                  params=[path_param("id")], errors=(401, 404, 409))},
    "/tasks/batch-decision": {"post": op("Decide several tasks with one comment", body={
        "type": "object", "required": ["task_ids", "decision"],
        "properties": {"task_ids": {"type": "array", "items": {"type": "integer"}, "maxItems": 100},
                       "decision": {"enum": ["approve", "done", "read"]}, "comment": {"type": "string"}}})},
    "/inbox": {"get": op("A box of the inbox: {items, total, counts}", params=PAGING + [
        {"name": "box", "in": "query", "schema": {"enum": ["todo", "done", "mine", "cc"]}},
        {"name": "q", "in": "query", "schema": {"type": "string"}}])},
})
