"""``/api/v1/openapi.json`` is assembled from each domain's fragment and describes exactly the
routes the API serves: nothing undocumented, nothing documented that is not served."""

from __future__ import annotations

import re

import pytest
from flask import Blueprint

from internal_affairs.api import ApiRoutes, create_api_blueprint
from internal_affairs.api.openapi import op


def _served(app) -> set[tuple[str, str]]:
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", "{}", rule.rule[len("/api/v1"):])
        served |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return served


def _documented(spec) -> set[tuple[str, str]]:
    return {(re.sub(r"\{[^}]+\}", "{}", path), method) for path, ops in spec["paths"].items() for method in ops}


def test_the_description_lists_exactly_the_served_routes(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    served, documented = _served(app), _documented(spec)
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"
    assert {("/cases/{}/attachments", "post"), ("/calendar/{}", "put"), ("/openapi.json", "get"),
            ("/auth/token", "post"), ("/route-preview", "post")} <= documented


def _refs(node) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


def test_every_reference_resolves_across_fragments(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    refs = _refs(spec)
    assert {"#/components/schemas/Error", "#/components/schemas/Form", "#/components/schemas/RegionCodes"} <= refs
    assert refs <= {f"#/components/schemas/{name}" for name in spec["components"]["schemas"]}


def test_two_apps_each_describe_their_own_api(make_app):
    first, second = make_app(), make_app()
    a = first.test_client().get("/api/v1/openapi.json").get_json()
    b = second.test_client().get("/api/v1/openapi.json").get_json()
    assert a == b and len(a["paths"]) > 30


def test_a_fragment_documents_only_what_is_new():
    one, two = ApiRoutes("one"), ApiRoutes("two")
    one.get("/things")(lambda: "")
    one.document(paths={"/things": {"get": op("Things")}}, schemas={"Thing": {"type": "object"}})
    two.post("/things")(lambda: "")
    two.document(paths={"/things": {"get": op("Things again")}})
    with pytest.raises(ValueError, match="GET /things"):
        create_api_blueprint([one, two])
    three = ApiRoutes("three")
    three.document(schemas={"Thing": {"type": "string"}})
    with pytest.raises(ValueError, match="Thing"):
        create_api_blueprint([one, three])
    assert isinstance(create_api_blueprint([one]), Blueprint)
