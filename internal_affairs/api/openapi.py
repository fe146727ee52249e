"""``GET /api/v1/openapi.json``: the description of every endpoint the API serves."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from . import bp

ERROR = {"$ref": "#/components/schemas/Error"}


def _op(summary: str, *, body: dict | None = None, ok: str = "200", auth: bool = True,
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


def _path_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


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
        },
    },
    "paths": {
        "/auth/token": {"post": _op("Exchange a directory login for a bearer token", auth=False, body={
            "type": "object", "required": ["username", "password"],
            "properties": {"username": {"type": "string"}, "password": {"type": "string"}}},
            errors=(400, 401, 422, 503))},
        "/me": {"get": _op("The logged-in person with agency, department, roles and delegations")},
        "/org/agencies": {"get": _op("Active agencies with their departments")},
        "/org/people/{uid}": {"get": _op("A person with manager, rank, cadre category, roles, leader chain, default deputy",
                                         params=[_path_param("uid")])},
        "/org/people/{uid}/default-deputy": {"put": _op(
            "Set a person's default deputy (HR of the agency or administrators)", params=[_path_param("uid")],
            body={"type": "object", "properties": {"deputy": {"type": ["string", "null"]}}})},
        "/org/sync": {"post": _op("Sync the org chart from the directory (HR)", ok="201", body={
            "type": "object", "properties": {"dry_run": {"type": "boolean"}, "full": {"type": "boolean"},
                                             "force": {"type": "boolean"}, "apply_run": {"type": "integer"}}},
            errors=(400, 401, 403, 404, 409, 422, 503))},
        "/org/sync-runs": {"get": _op("Recorded sync runs, newest first (HR)", params=PAGING)},
        "/openapi.json": {"get": _op("This description", auth=False, errors=())},
    },
}


@bp.get("/openapi.json")
def openapi():
    return jsonify(SPEC)
