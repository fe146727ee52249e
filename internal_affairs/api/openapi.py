"""``GET /api/v1/openapi.json``: the description of every endpoint the API serves."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from . import bp

ERROR = {"$ref": "#/components/schemas/Error"}


def op(summary: str, *, body: dict | None = None, ok: str = "200", auth: bool = True,
        params: list[dict] | None = None, errors: tuple[int, ...] = (400, 401, 403, 404, 422)) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {ok: {"description": "OK"}}}
    for status in errors:
        op["responses"][str(status)] = {"description": "error", "content": {"application/json": {"schema": ERROR}}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if params:
        op["parameters"] = params
    if not auth:
        op["security"] = []
    return op


def path_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


TO = {"type": "object", "required": ["to"], "properties": {"to": {"type": "string"}, "comment": {"type": "string"}}}
UIDS = {"type": "object", "required": ["to"], "properties": {"to": {"type": "array", "items": {"type": "string"}}}}
DEFERRED = {"type": "object", "properties": {"deferred_materials": {"type": "object",
                                                                   "additionalProperties": {"type": "string"}}}}

# what a matter's `regions` field takes (overseas_travel's `destinations`): codes, not names
REGION_CODES = {
    "type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^[A-Z]{2}$"},
    "description": "ISO 3166-1 alpha-2 codes of countries or regions, not their names: JP, not 日本 "
                   "(a name is refused with 请使用国家或地区代码，如 JP). Used by every form field of type "
                   "`regions`, e.g. `destinations` of overseas_travel.",
    "examples": [["JP"], ["JP", "KR"]],
}
FORM = {
    "type": "object",
    "description": "Field code → value, for the fields `GET /matter-types/{code}` lists: dates as YYYY-MM-DD, "
                   "a `select` field by option value, a `person` by uid, a `regions` field as ISO 3166-1 "
                   "alpha-2 codes (see RegionCodes).",
    "properties": {"destinations": {"$ref": "#/components/schemas/RegionCodes"}},
    "examples": [{"destinations": ["JP"], "start_date": "2026-10-01", "end_date": "2026-10-07",
                  "purpose": "tourism", "reason": "赴日本旅游"}],
}
FORM_REF = {"$ref": "#/components/schemas/Form"}

PAGING = [{"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
          {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}}]

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "机关内部“最多跑一次” API", "version": "1"},
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearer": []}, {"session": []}],
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "session"},
        },
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                               "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                               "details": {"type": "object"}}}}},
            "RegionCodes": REGION_CODES,
            "Form": FORM,
        },
    },
    "paths": {
        "/auth/token": {"post": op("Exchange a directory login for a bearer token", auth=False, body={
            "type": "object", "required": ["username", "password"],
            "properties": {"username": {"type": "string"}, "password": {"type": "string"}}},
            errors=(400, 401, 422, 429, 503)),
            "delete": op("Revoke the bearer token this request presents", ok="204", errors=(401,))},
        "/auth/tokens": {"get": op("The caller's live tokens: [{id, created_at, expires_at}] (never the token)")},
        "/auth/tokens/{id}": {"delete": op("Revoke one of the caller's tokens (administrators: anyone's)", ok="204",
                                           params=[path_param("id")], errors=(400, 401, 404))},
        "/org/people/{uid}/logout-everywhere": {"post": op(
            "End every browser session and API token of a person (system administrators, or the person)",
            params=[path_param("uid")], errors=(400, 401, 403, 404))},
        "/me": {"get": op("The logged-in person with agency, department, roles and delegations")},
        "/org/agencies": {"get": op("Active agencies with their departments")},
        "/org/agencies/{id}": {"get": op("One agency", params=[path_param("id")])},
        "/org/people/{uid}": {"get": op("A person with manager, rank, cadre category, roles, leader chain, default deputy",
                                         params=[path_param("uid")])},
        "/org/people/{uid}/default-deputy": {"put": op(
            "Set a person's default deputy (HR of the agency or administrators)", params=[path_param("uid")],
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
        "/openapi.json": {"get": op("This description", auth=False, errors=())},
        "/matter-types": {"get": op("The catalog: [{code, name, category, fields, materials, time_limit}]")},
        "/matter-types/{code}": {"get": op("One matter type", params=[path_param("code")])},
        "/route-preview": {"post": op("The concrete steps this applicant's case would take", body={
            "type": "object", "required": ["matter_type"],
            "properties": {"matter_type": {"type": "string"}, "form": FORM_REF,
                           "applicant": {"type": "string", "description": "uid (HR of the agency, admins)"}}})},
        "/calendar": {"get": op("Working days between two dates", params=[
            {"name": "from", "in": "query", "required": True, "schema": {"type": "string", "format": "date"}},
            {"name": "to", "in": "query", "required": True, "schema": {"type": "string", "format": "date"}}])},
        "/calendar/{day}": {
            "put": op("Override one day (administrators)", params=[path_param("day")], body={
                "type": "object", "required": ["working_day"],
                "properties": {"working_day": {"type": "boolean"}, "note": {"type": "string"}}}),
            "delete": op("Back to the official calendar (administrators)", ok="204", params=[path_param("day")]),
        },
        "/cases": {"post": op("Create a case; submit at once unless submit=false", ok="201", body={
            "type": "object", "required": ["matter_type"],
            "properties": {"matter_type": {"type": "string"}, "form": FORM_REF, "submit": {"type": "boolean"},
                           "deferred_materials": {"type": "object", "additionalProperties": {"type": "string"},
                                                  "description": "容缺受理: material code → written commitment"}}},
            errors=(400, 401, 404, 409, 422))},
        "/cases/{id}": {"get": op("A case with its steps, tasks, CC, attachments", params=[path_param("id")]),
                        "patch": op("Change a draft's form", params=[path_param("id")],
                                    body={"type": "object", "required": ["form"], "properties": {"form": FORM_REF}},
                                    errors=(400, 401, 403, 404, 409, 422))},
        "/cases/{id}/submit": {"post": op("Submit a draft", params=[path_param("id")], body=DEFERRED,
                                           errors=(400, 401, 403, 404, 409, 422))},
        "/cases/{id}/withdraw": {"post": op("The applicant withdraws before any decision", params=[path_param("id")],
                                             body={"type": "object", "properties": {"reason": {"type": "string"}}},
                                             errors=(400, 401, 403, 404, 409))},
        "/cases/{id}/resubmit": {"post": op("Resubmit a returned case with an amended form", params=[path_param("id")],
                                             body={"type": "object", "properties": {"form": FORM_REF}},
                                             errors=(400, 401, 403, 404, 409, 422))},
        "/cases/{id}/remind": {"post": op("催办 the holders of the open tasks (rate-limited)", params=[path_param("id")],
                                           errors=(401, 403, 404, 409, 429))},
        "/cases/{id}/cc": {"post": op("抄送", params=[path_param("id")], body=UIDS)},
        "/tasks/{id}/decision": {"post": op("Decide a task", params=[path_param("id")], body={
            "type": "object", "required": ["decision"],
            "properties": {"decision": {"enum": ["approve", "reject", "return", "done", "read"]},
                           "comment": {"type": "string"},
                           "to_step": {"type": ["string", "integer"], "description": "return to an earlier step"}}},
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
    },
}


@bp.get("/openapi.json")
def openapi():
    return jsonify(SPEC)
