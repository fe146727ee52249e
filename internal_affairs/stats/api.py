"""``/api/v1/stats`` (the supervision figures) and ``/api/v1/cases/{id}/rating`` (好差评)."""

from __future__ import annotations

from flask import jsonify, request

from ..api import ApiRoutes, json_body, require_user
from ..api.openapi import op, path_param
from ..auth import current_roles
from ..cases.access import access_case
from ..clock import utcnow
from .actions import do_rate_case, rating_state
from .queries import get_dashboard, get_stats_scope, parse_filters

routes = ApiRoutes("stats")


def rating_to_json(rating) -> dict:
    return {"case_id": rating.case_id, "score": rating.score, "comment": rating.comment,
            "created_at": rating.created_at.isoformat() + "Z"}


@routes.get("/stats")
def stats():
    user = require_user()
    now = utcnow()
    scope = get_stats_scope(user, current_roles())
    return jsonify(get_dashboard(scope, parse_filters(request.args, scope, now=now), now=now))


@routes.get("/cases/<int:case_id>/rating")
def case_rating(case_id: int):
    user = require_user()
    case = access_case(case_id, user, current_roles())
    rating, may_rate = rating_state(case.id, case.status, is_applicant=case.applicant_id == user.id)
    return jsonify({"rating": rating_to_json(rating) if rating else None, "can_rate": may_rate})


@routes.post("/cases/<int:case_id>/rating")
def rate_case(case_id: int):
    user = require_user()
    data = json_body()
    case = access_case(case_id, user, current_roles())
    rating = do_rate_case(case, data.get("score"), data.get("comment"), acting_user=user, now=utcnow())
    return jsonify(rating_to_json(rating)), 201


_FIGURES = {"type": "object", "properties": {
    "volume": {"type": "integer", "description": "cases submitted in the period"},
    "finished": {"type": "integer", "description": "cases approved, rejected or completed in the period"},
    "median_days": {"type": ["number", "null"], "description": "median handling time, working days"},
    "p90_days": {"type": ["number", "null"], "description": "nearest-rank 90th percentile, working days"},
    "on_time": {"type": "integer"}, "with_due": {"type": "integer"},
    "on_time_rate": {"type": ["number", "null"], "description": "finished by due_at (承诺时限) / finished with a due_at"},
    "one_trip": {"type": "integer"},
    "one_trip_rate": {"type": ["number", "null"], "description": "finished never returned to the applicant / finished"},
}}

routes.document(
    paths={
        "/stats": {"get": op(
            "Supervision figures (效能监察) per agency, matter type and period; times in working days "
            "(the start day not counted). Leaders see their agency, district leaders and the organisation "
            "department all; others 404", params=[
                {"name": "agency", "in": "query", "schema": {"type": "integer"}, "description": "agency id"},
                {"name": "matter_type", "in": "query", "schema": {"type": "string"}, "description": "matter code"},
                {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"},
                 "description": "first day (Shanghai), default 29 days before `to`"},
                {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"},
                 "description": "last day (Shanghai), default today; at most 366 days in all"}],
            errors=(400, 401, 404))},
        "/cases/{id}/rating": {"get": op(
            "A case's rating (好差评) if given, and whether the viewer may give it", params=[path_param("id")],
            errors=(401, 404)), "post": op(
            "The applicant rates a finished case once (好差评)", ok="201", params=[path_param("id")],
            body={"type": "object", "required": ["score"], "properties": {
                "score": {"type": "integer", "minimum": 1, "maximum": 5},
                "comment": {"type": "string", "maxLength": 500}}},
            errors=(400, 401, 403, 404, 409, 422))},
    },
    schemas={"StatsFigures": _FIGURES},
)
