"""The OpenAPI description of ``/api/v1``: the base document, helpers to write each domain's
fragment, and the merge of the fragments (see :func:`internal_affairs.api.create_api_blueprint`)."""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["ERROR", "PAGING", "op", "ref", "path_param", "base_spec", "merge_fragment"]

ERROR = {"$ref": "#/components/schemas/Error"}

PAGING = [{"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
          {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}}]


def op(summary: str, *, body: dict | None = None, ok: str = "200", auth: bool = True,
        params: list[dict] | None = None, errors: tuple[int, ...] = (400, 401, 403, 404, 422)) -> dict[str, Any]:
    """One operation: ``summary``, the success status ``ok``, a JSON ``body`` schema, ``params`` and
    the error statuses that answer the error shape."""
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


def ref(schema: str) -> dict:
    """A reference to the component schema ``schema`` (which any fragment may define)."""
    return {"$ref": f"#/components/schemas/{schema}"}


def path_param(name: str) -> dict:
    """A required string path parameter."""
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


_BASE: dict[str, Any] = {
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
    "paths": {},
}


def base_spec() -> dict[str, Any]:
    """A fresh copy of the document every fragment is merged into: info, security, the error schema."""
    return copy.deepcopy(_BASE)


def merge_fragment(spec: dict[str, Any], name: str, paths: dict[str, dict[str, Any]],
                   schemas: dict[str, Any]) -> None:
    """Merge one domain's ``paths`` and component ``schemas`` into ``spec``.

    Raises :class:`ValueError` when a path and method is already documented, or a schema name is
    already defined differently.
    """
    for path, operations in paths.items():
        documented = spec["paths"].setdefault(path, {})
        for method, operation in operations.items():
            if method in documented:
                raise ValueError(f"{name}: {method.upper()} {path} is already in the OpenAPI description")
            documented[method] = operation
    known = spec["components"]["schemas"]
    for schema_name, schema in schemas.items():
        if schema_name in known and known[schema_name] != schema:
            raise ValueError(f"{name}: the OpenAPI schema {schema_name} is already defined differently")
        known[schema_name] = schema
